package xpkg_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/yaml"

	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
	"github.com/tf-knative/terraform-provider-knative/internal/xpkg"
)

func fakeBinary(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bin")
	if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// fileIn is the content of name in the image's flattened filesystem.
func fileIn(t *testing.T, img v1.Image, name string) (string, bool) {
	t.Helper()
	var content bytes.Buffer
	found, err := xpkg.CopyFile(img, name, &content)
	if err != nil {
		t.Fatal(err)
	}
	return content.String(), found
}

func TestRuntimeImage(t *testing.T) {
	binary := fakeBinary(t, "#!/bin/true\n")
	img, err := xpkg.RuntimeImage(binary, "provider-knative", "arm64", "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.OS != "linux" || cfg.Architecture != "arm64" {
		t.Errorf("platform %s/%s, want linux/arm64", cfg.OS, cfg.Architecture)
	}
	if got := cfg.Config.Entrypoint; len(got) != 1 || got[0] != "/provider-knative" {
		t.Errorf("entrypoint %v", got)
	}
	if cfg.Config.User != "65532:65532" {
		t.Errorf("user %q: the runtime runs as non-root", cfg.Config.User)
	}
	if cfg.Config.Labels["org.opencontainers.image.version"] != "v1.2.3" || cfg.Config.Labels["org.opencontainers.image.source"] != xpkg.Source {
		t.Errorf("labels %v", cfg.Config.Labels)
	}
	if got, ok := fileIn(t, img, "provider-knative"); !ok || got != "#!/bin/true\n" {
		t.Errorf("the image holds %q (found: %v), want the binary", got, ok)
	}
	layers, _ := img.Layers()
	if len(layers) != 1 {
		t.Errorf("%d layers, want the binary's only", len(layers))
	}

	// The same binary makes the same image: releases are reproducible.
	again, err := xpkg.RuntimeImage(binary, "provider-knative", "arm64", "v1.2.3")
	if err != nil {
		t.Fatal(err)
	}
	d1, _ := img.Digest()
	d2, _ := again.Digest()
	if d1 != d2 {
		t.Errorf("digests differ for the same binary: %s, %s", d1, d2)
	}
	if _, err := xpkg.Entrypoint(empty.Image, io.Discard); err == nil || !strings.Contains(err.Error(), "no entrypoint") {
		t.Errorf("an image without an entrypoint: %v", err)
	}
	renamed, _ := mutate.Config(img, v1.Config{Entrypoint: []string{"/elsewhere"}})
	if _, err := xpkg.Entrypoint(renamed, io.Discard); err == nil || !strings.Contains(err.Error(), "/elsewhere is not in the image") {
		t.Errorf("an entrypoint the layers lack: %v", err)
	}
	other, _ := xpkg.RuntimeImage(fakeBinary(t, "other"), "provider-knative", "arm64", "v1.2.3")
	if d3, _ := other.Digest(); d3 == d1 {
		t.Error("another binary made the same digest")
	}
}

// TestOurPackagesMetadata checks each package root holds the crossplane.yaml
// of its kind, and the Configuration's dependencies are the packages this
// repository and the sandbox publish. All three carry the same maintainer,
// source and license (the repository's LICENSE).
func TestOurPackagesMetadata(t *testing.T) {
	kinds := map[string]string{"provider-knative": "Provider", "function-knative-app": "Function", "configuration-knative-app": "Configuration"}
	for _, p := range xpkg.Ours {
		data, err := os.ReadFile(filepath.Join("../..", p.Root, "crossplane.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name        string            `json:"name"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
			Spec struct {
				DependsOn []struct {
					Provider, Function, Version string
				} `json:"dependsOn"`
				Capabilities []string `json:"capabilities"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(data, &meta); err != nil {
			t.Fatal(err)
		}
		if meta.Kind != kinds[p.Name] || meta.Metadata.Name != p.Name {
			t.Errorf("%s: kind %s name %s, want %s %s", p.Root, meta.Kind, meta.Metadata.Name, kinds[p.Name], p.Name)
		}
		for key, want := range map[string]string{
			"meta.crossplane.io/maintainer": "terraform-provider-knative maintainers <https://github.com/tf-knative/terraform-provider-knative/issues>",
			"meta.crossplane.io/source":     "github.com/tf-knative/terraform-provider-knative",
			"meta.crossplane.io/license":    "Apache-2.0",
		} {
			if got := meta.Metadata.Annotations[key]; got != want {
				t.Errorf("%s: %s is %q, want %q", p.Root, key, got, want)
			}
		}
		if meta.Kind == "Function" && !slices.Equal(meta.Spec.Capabilities, []string{"composition"}) {
			t.Errorf("%s: capabilities %v, want [composition]", p.Root, meta.Spec.Capabilities)
		}
		if meta.Kind != "Configuration" {
			continue
		}
		want := map[string]bool{
			xpkg.Home + "/provider-knative":                             true,
			xpkg.Home + "/function-knative-app":                         true,
			sandbox.UpstreamHome + "/" + sandbox.PatchAndTransform.Name: true,
			sandbox.UpstreamHome + "/" + sandbox.AutoReady.Name:         true,
		}
		for _, d := range meta.Spec.DependsOn {
			pkg := d.Provider + d.Function
			if !want[pkg] {
				t.Errorf("the Configuration depends on %s, which is not published here", pkg)
			}
			delete(want, pkg)
		}
		for pkg := range want {
			t.Errorf("the Configuration does not depend on %s", pkg)
		}
	}
}

// TestBuildWithCrossplaneCLI builds the Configuration and a Function package
// (with a stand-in runtime binary) with `crossplane xpkg build`, and checks
// what Crossplane's package manager reads: the package layer with its
// objects, and the runtime image's entrypoint beside it.
func TestBuildWithCrossplaneCLI(t *testing.T) {
	builder, err := sandbox.NewBuilder(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() && !builder.Cached() {
		t.Skip("-short: the crossplane CLI is not built on this machine yet (make test builds it once)")
	}
	crank, err := builder.BuildCrossplaneCLI(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	b := &xpkg.Builder{RepoRoot: "../..", Crank: crank, OutDir: t.TempDir(), Version: "v9.9.9", Log: &log}

	files, err := b.Build(context.Background(), xpkg.Ours[2], nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	pkg := packageYAML(t, files[0])
	for _, want := range []string{"kind: Configuration", "kind: CompositeResourceDefinition", "name: apps.platform.example.org", "name: apps-function.platform.example.org"} {
		if !strings.Contains(pkg, want) {
			t.Errorf("the Configuration's package.yaml lacks %q", want)
		}
	}
	if strings.Contains(pkg, "\nkind: App\n") {
		t.Error("the Configuration's package holds an example App")
	}

	fn := xpkg.Package{Name: "function-knative-app", Root: "crossplane/function/package", Binary: fakeBinary(t, "stand-in")}
	files, err = b.Build(context.Background(), fn, []string{xpkg.HostPlatform()})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !strings.Contains(packageYAML(t, files[0]), "kind: Function") {
		t.Error("the function's package.yaml is not a Function's")
	}
	img, err := tarball.ImageFromPath(files[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	var entrypoint bytes.Buffer
	if name, err := xpkg.Entrypoint(img, &entrypoint); err != nil || name != "/function-knative-app" || entrypoint.String() != "stand-in" {
		t.Errorf("the package's entrypoint %s holds %q (%v), want the binary", name, entrypoint.String(), err)
	}
}

// packageYAML is the content of the layer crossplane xpkg build marks as the
// package's: in a package file, the config label
// io.crossplane.xpkg:<layer digest> = base (a registry's manifest carries it
// as the layer's annotation).
func packageYAML(t *testing.T, file string) string {
	t.Helper()
	img, err := tarball.ImageFromPath(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	for label, value := range cfg.Config.Labels {
		digest, ok := strings.CutPrefix(label, "io.crossplane.xpkg:")
		if !ok || value != "base" {
			continue
		}
		hash, err := v1.NewHash(digest)
		if err != nil {
			t.Fatal(err)
		}
		layer, err := img.LayerByDigest(hash)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := layer.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		files := tar.NewReader(rc)
		for {
			h, err := files.Next()
			if err != nil {
				t.Fatalf("no package.yaml in the package layer: %v", err)
			}
			if h.Name == "package.yaml" {
				data, _ := io.ReadAll(files)
				return string(data)
			}
		}
	}
	t.Fatalf("%s has no layer labelled io.crossplane.xpkg: base", file)
	return ""
}

// TestInstallManifestMeetsTheConfiguration checks examples/crossplane/install.yaml
// installs the packages the Configuration depends on under the names
// Crossplane gives dependencies (the repository path with dashes), at
// versions the sandbox publishes, and that the Compositions' functionRefs
// name those Functions.
func TestInstallManifestMeetsTheConfiguration(t *testing.T) {
	data, err := os.ReadFile("../../examples/crossplane/install.yaml")
	if err != nil {
		t.Fatal(err)
	}
	published := map[string]string{
		xpkg.Home + "/provider-knative":                             "v0.1.0",
		xpkg.Home + "/function-knative-app":                         "v0.1.0",
		sandbox.UpstreamHome + "/" + sandbox.PatchAndTransform.Name: sandbox.PatchAndTransform.Version,
		sandbox.UpstreamHome + "/" + sandbox.AutoReady.Name:         sandbox.AutoReady.Version,
	}
	functions := map[string]bool{}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				Package string `json:"package"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			t.Fatal(err)
		}
		repo, tag, _ := strings.Cut(obj.Spec.Package, ":")
		want, ok := published[repo]
		if !ok || tag != want {
			t.Errorf("%s %s installs %s, not a published package (%v)", obj.Kind, obj.Metadata.Name, obj.Spec.Package, published)
		}
		delete(published, repo)
		_, path, _ := strings.Cut(repo, "/")
		if dns := strings.ReplaceAll(path, "/", "-"); obj.Metadata.Name != dns {
			t.Errorf("%s %s: the Configuration's dependency would be named %s", obj.Kind, obj.Metadata.Name, dns)
		}
		if obj.Kind == "Function" {
			functions[obj.Metadata.Name] = true
		}
	}
	for repo := range published {
		t.Errorf("install.yaml does not install %s", repo)
	}
	for _, file := range []string{"composition.yaml", "composition-function.yaml"} {
		data, err := os.ReadFile(filepath.Join("../../examples/crossplane/app", file))
		if err != nil {
			t.Fatal(err)
		}
		var c struct {
			Spec struct {
				Pipeline []struct {
					FunctionRef struct{ Name string } `json:"functionRef"`
				} `json:"pipeline"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(data, &c); err != nil {
			t.Fatal(err)
		}
		for _, step := range c.Spec.Pipeline {
			if !functions[step.FunctionRef.Name] {
				t.Errorf("%s uses the Function %s, which install.yaml does not install", file, step.FunctionRef.Name)
			}
		}
	}
}
