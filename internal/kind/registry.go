package kind

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
)

func lock(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return sandbox.LockFile(path)
}

// KnativeImage is the reference of a Knative Serving component's image in
// the project's registry, by the name knative_serving's registry.default
// template gives it (${NAME}: the container's name).
func KnativeImage(container string) string {
	return RegistryAddress + "/knative/" + container + ":v" + sandbox.KnativeServingVersion
}

// KnativeRegistryTemplate is knative_serving's registry.default for the
// project's registry.
func KnativeRegistryTemplate() string { return KnativeImage("${NAME}") }

// HelloImage is the test app in the project's registry, by tag: Knative
// resolves it to a digest against the registry, as on any real cluster.
func HelloImage(tag string) string { return RegistryAddress + "/hello:" + tag }

// knativePrograms maps Knative's container names to the programs of
// knative.dev/serving they run.
var knativePrograms = map[string]string{
	"controller": "controller", "webhook": "webhook", "autoscaler": "autoscaler", "activator": "activator", "queue-proxy": "queue",
}

// ensureRegistry runs go-containerregistry's registry as a container at a
// fixed address on the project's network; blobs are kept in the cache.
// Its manifests live in memory: pushImages fills it again after a restart.
func (c *Cluster) ensureRegistry(ctx context.Context) error {
	if state, err := c.docker.Run(ctx, "inspect", "--format", "{{.State.Running}}", registryName); err == nil {
		if state == "true" {
			return nil
		}
		if _, err := c.docker.Run(ctx, "start", registryName); err == nil {
			return nil
		}
		_, _ = c.docker.Run(ctx, "rm", "-f", registryName)
	}
	bin, err := c.builder.BuildRegistry(ctx)
	if err != nil {
		return err
	}
	img, err := programImage(bin, "registry", "-address", "0.0.0.0:5000", "-blobs", "/var/lib/registry")
	if err != nil {
		return err
	}
	tag := "tfk/registry:ggcr"
	archive := c.dir("registry-image.tar")
	if err := writeDockerArchive(archive, map[string]v1.Image{tag: img}); err != nil {
		return err
	}
	defer os.Remove(archive)
	if _, err := c.docker.Run(ctx, "load", "-q", "-i", archive); err != nil {
		return err
	}
	blobs := c.cacheDir("registry")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	_, err = c.docker.Run(ctx, "run", "-d", "--name", registryName, "--restart", "always", "--user", "0:0",
		"--network", NetworkName, "--ip", registryIP, "-v", blobs+":/var/lib/registry", tag)
	return err
}

// pushImages builds the images the cluster runs beyond its control plane and
// pushes them to the registry: Knative's components, Traefik, and the test
// app under its own name and under every kind.local name the tests and
// examples use (the node's containerd pulls kind.local from the registry).
func (c *Cluster) pushImages(ctx context.Context) error {
	images := map[string]v1.Image{}
	knative, err := c.builder.BuildKnativeImages(ctx)
	if err != nil {
		return err
	}
	for container, program := range knativePrograms {
		img, err := programImage(filepath.Join(knative, program), program)
		if err != nil {
			return err
		}
		images[KnativeImage(container)] = img
	}
	traefik, err := c.builder.BuildTraefik(ctx)
	if err != nil {
		return err
	}
	if images[TraefikImage()], err = programImage(traefik, "traefik"); err != nil {
		return err
	}
	hello, err := c.buildHello(ctx)
	if err != nil {
		return err
	}
	helloImage, err := programImage(hello, "hello")
	if err != nil {
		return err
	}
	for _, tag := range []string{"v1", "v2", "latest"} {
		images[HelloImage(tag)] = helloImage
	}
	names, err := kindLocalImages(filepath.Join(c.builder.ToolsDir, "..", "..", ".."))
	if err != nil {
		return err
	}
	for _, n := range names {
		images[RegistryAddress+"/"+n] = helloImage
	}
	refs := make([]string, 0, len(images))
	for ref := range images {
		refs = append(refs, ref)
	}
	sort.Strings(refs)
	for _, ref := range refs {
		r, err := name.ParseReference(ref)
		if err != nil {
			return err
		}
		if err := remote.Write(r, images[ref], remote.WithContext(ctx)); err != nil {
			return fmt.Errorf("pushing %s: %w", ref, err)
		}
	}
	return nil
}

// TraefikImage is Traefik's image in the project's registry.
func TraefikImage() string { return RegistryAddress + "/traefik:" + sandbox.TraefikVersion }

// buildHello builds the test app (internal/kind/hello), static.
func (c *Cluster) buildHello(ctx context.Context) (string, error) {
	root := filepath.Join(c.builder.ToolsDir, "..", "..", "..")
	out := c.dir("hello")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", out, "./internal/kind/hello")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the hello app: %w: %s", err, msg)
	}
	return out, nil
}

var kindLocalImage = regexp.MustCompile(`kind\.local/([a-z0-9][a-z0-9-]*)(:[a-zA-Z0-9][a-zA-Z0-9.-]*[a-zA-Z0-9])?`)

// kindLocalImages are the kind.local images named in the repository's Go
// files and examples, as name:tag, without the host.
func kindLocalImages(root string) ([]string, error) {
	seen := map[string]bool{}
	for _, dir := range []string{"provider", "internal", "examples", "crossplane"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == ".terraform" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, ".tf") && !strings.HasSuffix(p, ".yaml") {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			for _, m := range kindLocalImage.FindAllStringSubmatch(string(data), -1) {
				if len(m[1]) < 2 {
					continue // too short a repository for a registry's name rules; only plan-time tests use one
				}
				tag := strings.TrimPrefix(m[2], ":")
				if tag == "" {
					tag = "latest"
				}
				seen[m[1]+":"+tag] = true
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}
