package kind

import (
	"archive/tar"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

func TestOfflineCorefile(t *testing.T) {
	// kubeadm v1.37's Corefile.
	corefile := `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30 {
       disable success cluster.local
       disable denial cluster.local
    }
    loop
    reload
    loadbalance
}
`
	got := offlineCorefile(corefile)
	for _, gone := range []string{"forward", "max_concurrent", "loop"} {
		if strings.Contains(got, gone) {
			t.Errorf("offline Corefile still has %q:\n%s", gone, got)
		}
	}
	for _, kept := range []string{"kubernetes cluster.local", "cache 30 {", "disable denial cluster.local", "reload", "loadbalance"} {
		if !strings.Contains(got, kept) {
			t.Errorf("offline Corefile lost %q:\n%s", kept, got)
		}
	}
	if strings.Count(got, "{") != strings.Count(got, "}") {
		t.Errorf("unbalanced braces:\n%s", got)
	}
	if again := offlineCorefile(got); again != got {
		t.Errorf("not idempotent:\n%s\nthen\n%s", got, again)
	}
	// A one-line forward goes too.
	if got := offlineCorefile(".:53 {\n    forward . 8.8.8.8\n    cache 30\n}\n"); strings.Contains(got, "forward") || !strings.Contains(got, "cache 30") {
		t.Errorf("one-line forward: %q", got)
	}
}

func TestKindLocalImages(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"provider/a_test.go":         `image = "kind.local/hello:v1" ... "kind.local/hello:v2" and "kind.local/app", not "kind.local/a"`,
		"internal/x/y.go":            "`kind.local/hello:intruder-` is cut at the dash; kind.local/probe",
		"examples/e/main.tf":         `default = "kind.local/helloworld-go:latest"`,
		"crossplane/c.yaml":          `image: kind.local/hello:v1`,
		"examples/e/.terraform/x.tf": `kind.local/ignored:v1`,
		"docs/d.md":                  `kind.local/not-scanned:v1`,
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := kindLocalImages(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"app:latest", "hello:intruder", "hello:v1", "hello:v2", "helloworld-go:latest", "probe:latest"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("kind.local images = %v, want %v", got, want)
	}
}

func TestImageOf(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "prog")
	if err := os.WriteFile(bin, []byte("#!/bin/true\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	img, err := programImage(bin, "prog", "-flag")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Config.User != nonroot || !reflect.DeepEqual(cfg.Config.Entrypoint, []string{"/ko-app/prog", "-flag"}) || cfg.OS != "linux" {
		t.Errorf("config = %+v", cfg.Config)
	}
	entries := layerEntries(t, img)
	for name, want := range map[string]int64{"ko-app/prog": 0o755, "tmp": 0o1777, "etc/passwd": 0o644} {
		h, ok := entries[name]
		if !ok {
			t.Errorf("%s missing from the image: %v", name, entries)
			continue
		}
		if h.Mode != want {
			t.Errorf("%s mode %o, want %o", name, h.Mode, want)
		}
	}
	if !strings.Contains(string(readFile(t, img, "etc/passwd")), "nonroot:x:65532:65532") {
		t.Error("no nonroot user in /etc/passwd")
	}
	// The same content makes the same image: layers carry no time.
	again, err := programImage(bin, "prog", "-flag")
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("the same program made two images: %s, %s", d1, d2)
	}
	links, err := imageOf(map[string]file{"/lib": {Link: "usr/lib"}, "/usr/lib/x.so": {Data: []byte("x")}}, v1.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if h := layerEntries(t, links)["lib"]; h == nil || h.Typeflag != tar.TypeSymlink || h.Linkname != "usr/lib" {
		t.Errorf("lib link = %+v", h)
	}
}

func layerEntries(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	r := mutate.Extract(img)
	defer r.Close()
	tr := tar.NewReader(r)
	entries := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return entries
		}
		if err != nil {
			t.Fatal(err)
		}
		entries[h.Name] = h
	}
}

func readFile(t *testing.T, img v1.Image, name string) []byte {
	t.Helper()
	r := mutate.Extract(img)
	defer r.Close()
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("%s not in the image: %v", name, err)
		}
		if h.Name == name {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
	}
}
