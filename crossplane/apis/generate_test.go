package apis

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedFilesUpToDate runs the generators of apis.go on a copy of the
// API types and fails when the committed deep-copy methods, managed resource
// methods or CRDs differ: they are generated (make generate), never edited.
func TestGeneratedFilesUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the code generators (about 15 s)")
	}
	// Inside the module, so the copy's packages load; a dot directory, so
	// ./... elsewhere never sees it.
	work, err := os.MkdirTemp(".", ".generate-check-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(work) })
	crds := t.TempDir()
	hack, err := filepath.Abs("../hack")
	if err != nil {
		t.Fatal(err)
	}
	var sources []string
	err = filepath.WalkDir(".", func(p string, d os.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != ".":
			return filepath.SkipDir
		case d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go"):
			return nil
		}
		// Generated files are copied too: angryjet loads the packages, which
		// must compile; both generators then write them anew.
		sources = append(sources, p)
		data, err := os.ReadFile(p)
		if err == nil {
			err = os.MkdirAll(filepath.Join(work, filepath.Dir(p)), 0o755)
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(work, p), data, 0o644)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}

	// The generators exactly as apis.go runs them, writing into the copy.
	for _, args := range generators(t) {
		for i, a := range args {
			a = strings.ReplaceAll(a, "../hack", hack)
			args[i] = strings.ReplaceAll(a, "../package/crds", crds)
		}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = work
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	for _, p := range sources {
		if !strings.HasPrefix(filepath.Base(p), "zz_generated") {
			continue
		}
		if !sameFile(t, filepath.Join(work, p), p) {
			t.Errorf("crossplane/apis/%s is stale: run make generate and commit the result", p)
		}
	}
	generated, _ := filepath.Glob(filepath.Join(crds, "*.yaml"))
	committed, _ := filepath.Glob("../package/crds/*.yaml")
	if len(generated) == 0 || len(generated) != len(committed) {
		t.Errorf("generated %d CRDs, crossplane/package/crds has %d: run make generate", len(generated), len(committed))
	}
	for _, g := range generated {
		if !sameFile(t, g, filepath.Join("../package/crds", filepath.Base(g))) {
			t.Errorf("crossplane/package/crds/%s is stale: run make generate and commit the result", filepath.Base(g))
		}
	}
}

// generators are the go:generate commands of apis.go that run Go programs.
func generators(t *testing.T) [][]string {
	data, err := os.ReadFile("apis.go")
	if err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for scanner.Scan() {
		if rest, ok := strings.CutPrefix(scanner.Text(), "//go:generate go "); ok {
			cmds = append(cmds, append([]string{"go"}, strings.Fields(rest)...))
		}
	}
	if len(cmds) != 3 {
		t.Fatalf("expected the controller-gen, hack/crds and angryjet lines in apis.go, found %d", len(cmds))
	}
	return cmds
}

func sameFile(t *testing.T, a, b string) bool {
	t.Helper()
	da, errA := os.ReadFile(a)
	db, errB := os.ReadFile(b)
	return errA == nil && errB == nil && bytes.Equal(da, db)
}
