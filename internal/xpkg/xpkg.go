// Package xpkg builds this repository's Crossplane packages without Docker:
// the runtime image of a package is made in Go from a static binary (one
// layer on an empty base, its entrypoint, the platform and OCI labels), and
// the package itself by the crossplane CLI's own `crossplane xpkg build
// --embed-runtime-image-tarball`, so what comes out is exactly what that
// command makes. `crossplane xpkg push` pushes one package file per platform
// as one multi-platform index.
package xpkg

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/tf-knative/terraform-provider-knative/internal/ociimage"
)

// Home is where the release publishes this repository's packages; the
// Configuration's dependencies name it, and the sandbox's ImageConfig
// rewrites it to its own registry.
const Home = "ghcr.io/tf-knative"

// Source is the repository, for the images' OCI labels.
const Source = "https://github.com/tf-knative/terraform-provider-knative"

// Package is one Crossplane package.
type Package struct {
	// Name is the package's repository name (provider-knative).
	Name string
	// Root holds crossplane.yaml and the package's other objects (CRDs,
	// XRDs, Compositions), relative to the repository, or absolute.
	Root string
	// Ignore are files under Root that are not part of the package (the
	// examples beside a Configuration's objects).
	Ignore []string
	// Command is the Go package of the runtime binary, built for each
	// platform; empty for a Configuration, which has no runtime.
	Command string
	// Binary is a runtime binary built already, for the host's platform
	// only (the upstream functions the sandbox builds as tools).
	Binary string
}

// Ours are the packages this repository ships.
var Ours = []Package{
	{Name: "provider-knative", Root: "crossplane/package", Command: "./crossplane/cmd/provider"},
	{Name: "function-knative-app", Root: "crossplane/function/package", Command: "./crossplane/cmd/function-knative-app"},
	{Name: "configuration-knative-app", Root: "examples/crossplane/app", Ignore: []string{"app*.yaml"}},
}

// HostPlatform is the platform this machine runs (linux/amd64).
func HostPlatform() string { return "linux/" + runtime.GOARCH }

// Builder builds packages into OutDir as <name>-<version>[-<arch>].xpkg.
type Builder struct {
	RepoRoot string
	// Crank is the crossplane CLI.
	Crank   string
	OutDir  string
	Version string
	Log     io.Writer
}

// Build builds p for each platform ("linux/amd64") and returns the package
// files, one per platform (one for a Configuration).
func (b *Builder) Build(ctx context.Context, p Package, platforms []string) ([]string, error) {
	if err := os.MkdirAll(filepath.Join(b.OutDir, ".runtime"), 0o755); err != nil {
		return nil, err
	}
	if p.Command == "" && p.Binary == "" {
		out := filepath.Join(b.OutDir, fmt.Sprintf("%s-%s.xpkg", p.Name, b.Version))
		return []string{out}, b.crankBuild(ctx, p, "", out)
	}
	var files []string
	for _, platform := range platforms {
		goos, arch, ok := strings.Cut(platform, "/")
		if !ok || goos != "linux" {
			return nil, fmt.Errorf("platform %q: want linux/<arch>", platform)
		}
		binary := p.Binary
		if binary == "" {
			binary = filepath.Join(b.OutDir, ".runtime", p.Name+"-"+arch)
			if err := b.goBuild(ctx, p.Command, arch, binary); err != nil {
				return nil, err
			}
		} else if platform != HostPlatform() {
			return nil, fmt.Errorf("%s is built for %s only, not %s", p.Name, HostPlatform(), platform)
		}
		img, err := RuntimeImage(binary, p.Name, arch, b.Version)
		if err != nil {
			return nil, err
		}
		imageTar := filepath.Join(b.OutDir, ".runtime", p.Name+"-"+arch+".tar")
		tag, err := name.NewTag("runtime.local/" + p.Name + ":" + b.Version)
		if err != nil {
			return nil, err
		}
		if err := tarball.WriteToFile(imageTar, tag, img); err != nil {
			return nil, fmt.Errorf("writing the runtime image of %s: %w", p.Name, err)
		}
		out := filepath.Join(b.OutDir, fmt.Sprintf("%s-%s-%s.xpkg", p.Name, b.Version, arch))
		if err := b.crankBuild(ctx, p, imageTar, out); err != nil {
			return nil, err
		}
		files = append(files, out)
	}
	return files, nil
}

func (b *Builder) goBuild(ctx context.Context, pkg, arch, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, pkg)
	cmd.Dir = b.RepoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s for linux/%s: %w\n%s", pkg, arch, err, out)
	}
	return nil
}

// crankBuild runs `crossplane xpkg build`.
func (b *Builder) crankBuild(ctx context.Context, p Package, runtimeTarball, out string) error {
	root := p.Root
	if !filepath.IsAbs(root) {
		root = filepath.Join(b.RepoRoot, root)
	}
	args := []string{"xpkg", "build", "--package-root", root, "--package-file", out,
		// No examples layer: the examples live in the repository.
		"--examples-root", filepath.Join(b.OutDir, ".no-examples")}
	if len(p.Ignore) > 0 {
		args = append(args, "--ignore", strings.Join(p.Ignore, ","))
	}
	if runtimeTarball != "" {
		args = append(args, "--embed-runtime-image-tarball", runtimeTarball)
	}
	return runCLI(ctx, b.Crank, b.Log, args...)
}

// Push pushes the package files of one package (one per platform) to ref as
// `crossplane xpkg push` does: an image for one file, an index for several.
func Push(ctx context.Context, crank string, log io.Writer, ref string, files []string) error {
	return runCLI(ctx, crank, log, "xpkg", "push", "--package-files", strings.Join(files, ","), ref)
}

// runCLI runs the crossplane CLI, its output to log.
func runCLI(ctx context.Context, crank string, log io.Writer, args ...string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, crank, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if log != nil {
		_, _ = log.Write(out.Bytes())
	}
	if err != nil {
		return fmt.Errorf("crossplane %s: %w\n%s", strings.Join(args[:2], " "), err, out.String())
	}
	return nil
}

// RuntimeImage is a runtime image holding only binary, as /<name>, its
// entrypoint, run as a non-root user, for linux/arch.
func RuntimeImage(binary, name, arch, version string) (v1.Image, error) {
	return ociimage.Of(map[string]ociimage.File{"/" + name: {Source: binary, Mode: 0o755}}, arch, v1.Config{
		Entrypoint: []string{"/" + name},
		User:       "65532:65532",
		Labels: map[string]string{
			"org.opencontainers.image.title":   name,
			"org.opencontainers.image.source":  Source,
			"org.opencontainers.image.version": version,
		},
	})
}

// Entrypoint is the runtime binary of a package (or runtime image): its
// entrypoint, copied out of its layers to w. This is what the Deployment
// runtime runs in a pod.
func Entrypoint(img v1.Image, w io.Writer) (name string, err error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	if len(cfg.Config.Entrypoint) == 0 {
		return "", fmt.Errorf("no entrypoint: a package without a runtime image")
	}
	name = cfg.Config.Entrypoint[0]
	found, err := CopyFile(img, name, w)
	if err == nil && !found {
		err = fmt.Errorf("its entrypoint %s is not in the image", name)
	}
	return name, err
}

// CopyFile copies the file at path in the image's flattened filesystem to w,
// and reports whether it is there.
func CopyFile(img v1.Image, path string, w io.Writer) (bool, error) {
	layers := mutate.Extract(img)
	defer layers.Close()
	files := tar.NewReader(layers)
	for {
		h, err := files.Next()
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if strings.TrimPrefix(h.Name, "/") == strings.TrimPrefix(path, "/") {
			_, err := io.Copy(w, files)
			return true, err
		}
	}
}
