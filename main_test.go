package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDocsUpToDate regenerates the documentation into a temporary directory and
// fails when docs/ differs: docs/ is generated, never edited by hand.
func TestDocsUpToDate(t *testing.T) {
	if _, err := exec.LookPath("terraform"); err != nil {
		t.Skip("tfplugindocs needs a terraform binary on PATH (make test provides one)")
	}
	repo, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	rel, err := filepath.Rel(repo, out) // tfplugindocs takes the output dir relative to the provider dir
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "tool", "tfplugindocs", "generate", "--provider-name", "knative", "--rendered-website-dir", rel)
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tfplugindocs generate: %v\n%s", err, output)
	}
	compareTrees(t, out, filepath.Join(repo, "docs"))
}

func compareTrees(t *testing.T, generated, committed string) {
	t.Helper()
	seen := map[string]bool{}
	_ = filepath.WalkDir(generated, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(generated, p)
		seen[rel] = true
		want, _ := os.ReadFile(p)
		got, err := os.ReadFile(filepath.Join(committed, rel))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("docs/%s is stale or missing: run make docs and commit the result", rel)
		}
		return nil
	})
	_ = filepath.WalkDir(committed, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(committed, p)
		if !seen[rel] {
			t.Errorf("docs/%s is not generated any more: run make docs and commit the result", rel)
		}
		return nil
	})
	if len(seen) == 0 {
		t.Fatal("tfplugindocs generated nothing")
	}
}
