// Package kind runs a real Kubernetes cluster on this machine with kind,
// offline: the second test ground beside the sandbox, where pods really run.
//
// Everything is made here and cached by version and content: Debian's Docker
// engine on a socket and data root of its own, a kind node image (Debian
// rootfs, kubelet and kubeadm built from the Go module proxy, the control
// plane's images built in Go and pre-loaded), and an OCI registry container
// on the project's Docker network that the node pulls from, as an
// air-gapped cluster pulls from its mirror. Knative Serving's own images,
// Traefik (the networking layer: its Knative provider serves KIngresses) and
// a hello-world app are built from source and pushed there. Nothing leaves
// the machine: container egress is blocked before any container starts,
// CoreDNS forwards nowhere, and every image comes from that registry.
package kind

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
)

// The project's Docker network: the kind node and the registry sit on it.
// Its dynamic range is the lower half, so the registry's fixed address never
// collides with a node's.
const (
	NetworkName     = "tfk-kind"
	networkSubnet   = "172.29.77.0/24"
	networkRange    = "172.29.77.0/25"
	networkGateway  = "172.29.77.1"
	networkBridge   = "tfkkind0"
	registryIP      = "172.29.77.200"
	registryName    = "tfk-registry"
	RegistryAddress = registryIP + ":5000"
	// IngressNodePort is Traefik's public entrypoint on the node.
	IngressNodePort = 30080
	// IngressClass and IngressService are Traefik's, as Knative's layer.
	IngressClass   = "traefik.ingress.networking.knative.dev"
	IngressService = "traefik/traefik"
)

// Options select a kind cluster and where its files live.
type Options struct {
	Name     string    // default "knative"; the kind cluster is tfk-<name>
	CacheDir string    // default sandbox.DefaultCacheDir()
	ToolsDir string    // internal/sandbox/tools; found from the working directory when empty
	Log      io.Writer // default os.Stderr
}

// Cluster is a running kind cluster.
type Cluster struct {
	Name       string // kind's name for it
	Kubeconfig string
	NodeIP     string // the node's address on the project's network
	// IngressURL is Traefik's public entrypoint: send a Service's host in
	// the Host header.
	IngressURL string
	// Registry is the project's registry as the node and Knative name it.
	Registry string
	// Timings of this Up, for make bench: each phase's duration.
	Timings []Timing

	opts    Options
	docker  *Docker
	builder *sandbox.Builder
	tools   *sandbox.NodeTools // found once per Cluster: each lookup hashes the tool modules
	log     io.Writer
}

// Timing is how long one phase of Up took.
type Timing struct {
	Phase    string
	Duration time.Duration
}

func newCluster(opts Options) (*Cluster, error) {
	if opts.Name == "" {
		opts.Name = "knative"
	}
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	if opts.CacheDir == "" {
		opts.CacheDir = sandbox.DefaultCacheDir()
	}
	builder, err := sandbox.NewBuilder(opts.Log)
	if err != nil && opts.ToolsDir == "" {
		return nil, err
	}
	if opts.ToolsDir != "" {
		builder = &sandbox.Builder{ToolsDir: opts.ToolsDir, Log: opts.Log}
	}
	builder.CacheDir = opts.CacheDir
	c := &Cluster{Name: "tfk-" + opts.Name, opts: opts, builder: builder, log: opts.Log, Registry: RegistryAddress}
	c.docker = &Docker{Dir: c.cacheDir("docker"), Log: opts.Log}
	c.Kubeconfig = c.dir("kubeconfig")
	return c, nil
}

// cacheDir is a path under the kind cache, shared by every cluster.
func (c *Cluster) cacheDir(name string) string {
	return filepath.Join(c.opts.CacheDir, "kind", name)
}

// dir is a path in this cluster's own directory, created on demand.
func (c *Cluster) dir(name string) string {
	d := filepath.Join(c.opts.CacheDir, "kind", "clusters", c.Name)
	_ = os.MkdirAll(d, 0o755)
	return filepath.Join(d, name)
}

func (c *Cluster) phase(name string, started time.Time) {
	d := time.Since(started)
	c.Timings = append(c.Timings, Timing{Phase: name, Duration: d})
	fmt.Fprintf(c.log, "kind: %s in %s\n", name, d.Round(100*time.Millisecond))
}

// Up creates the cluster, or returns it when it runs already, with the
// registry filled and Traefik serving.
func Up(ctx context.Context, opts Options) (*Cluster, error) {
	c, err := newCluster(opts)
	if err != nil {
		return nil, err
	}
	// One setup at a time: clusters share the engine, network, registry and
	// node image.
	unlock, err := lock(c.cacheDir(".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	started := time.Now()
	if err := c.docker.Start(ctx); err != nil {
		return nil, err
	}
	if err := c.ensureNetwork(ctx); err != nil {
		return nil, err
	}
	if err := c.ensureRegistry(ctx); err != nil {
		return nil, err
	}
	c.phase("Docker engine, network and registry", started)

	started = time.Now()
	node, err := c.nodeImage(ctx)
	if err != nil {
		return nil, err
	}
	c.phase("node image "+node, started)

	started = time.Now()
	if err := c.ensureCluster(ctx, node); err != nil {
		return nil, err
	}
	c.phase("kind cluster "+c.Name, started)

	started = time.Now()
	if err := c.pushImages(ctx); err != nil {
		return nil, err
	}
	c.phase("images built and pushed to "+RegistryAddress, started)

	started = time.Now()
	if err := c.configure(ctx); err != nil {
		return nil, err
	}
	c.phase("CoreDNS offline, kube-proxy and Traefik ready", started)
	return c, nil
}

// Down deletes the cluster. The engine, the registry and the caches stay for
// the next Up; StopEngine stops them too.
func Down(ctx context.Context, opts Options, stopEngine bool) error {
	c, err := newCluster(opts)
	if err != nil {
		return err
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return nil // never set up on this machine
	}
	if c.docker.Client, err = dockerClient(dockerd); err != nil || !c.docker.answers(ctx) {
		return nil
	}
	unlock, err := lock(c.cacheDir(".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	tools, err := c.nodeTools(ctx)
	if err != nil {
		return err
	}
	if err := c.kind(ctx, tools.Kind, "delete", "cluster", "--name", c.Name); err != nil {
		return err
	}
	_ = os.Remove(c.Kubeconfig)
	// kind bind-mounts /lib/modules; Docker made an empty one on a host without it.
	if entries, err := os.ReadDir("/lib/modules"); err == nil && len(entries) == 0 && fileExists(c.cacheDir("made-lib-modules")) {
		_ = os.Remove("/lib/modules")
	}
	if stopEngine {
		c.docker.Stop()
	}
	return nil
}

func (c *Cluster) kind(ctx context.Context, kindBinary string, args ...string) error {
	cmd := exec.CommandContext(ctx, kindBinary, args...)
	cmd.Env = append(c.docker.Env(), "KIND_EXPERIMENTAL_DOCKER_NETWORK="+NetworkName, "PATH="+filepath.Dir(c.docker.Client)+":"+os.Getenv("PATH"))
	cmd.Stdout, cmd.Stderr = c.log, c.log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("kind %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

func (c *Cluster) ensureNetwork(ctx context.Context) error {
	if _, err := c.docker.Run(ctx, "network", "inspect", NetworkName); err == nil {
		return nil
	}
	_, err := c.docker.Run(ctx, "network", "create", "--driver", "bridge", "--subnet", networkSubnet, "--ip-range", networkRange,
		"--gateway", networkGateway, "-o", "com.docker.network.bridge.name="+networkBridge, NetworkName)
	return err
}

// kindConfig: the node image's static bridge CNI instead of kindnetd (not
// in the image), and the kubelet on this machine's cgroup v1.
const kindConfig = `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  disableDefaultCNI: true
  apiServerAddress: "127.0.0.1"
  podSubnet: "10.244.0.0/16"
  serviceSubnet: "10.96.0.0/16"
kubeadmConfigPatches:
- |
  kind: KubeletConfiguration
  failCgroupV1: false
nodes:
- role: control-plane
`

func (c *Cluster) ensureCluster(ctx context.Context, node string) error {
	tools, err := c.nodeTools(ctx)
	if err != nil {
		return err
	}
	container := c.Name + "-control-plane"
	state, err := c.docker.Run(ctx, "inspect", "--format", "{{.State.Status}} {{.Config.Image}}", container)
	switch {
	case err == nil && strings.HasPrefix(state, "running ") && strings.HasSuffix(state, " "+node):
		// Running: only the kubeconfig is written again (a new CA per cluster).
		if err := c.kind(ctx, tools.Kind, "export", "kubeconfig", "--name", c.Name, "--kubeconfig", c.Kubeconfig); err != nil {
			return err
		}
	case err == nil:
		fmt.Fprintf(c.log, "kind: %s is %q; creating it again\n", container, state)
		if err := c.kind(ctx, tools.Kind, "delete", "cluster", "--name", c.Name); err != nil {
			return err
		}
		fallthrough
	default:
		if _, err := os.Stat("/lib/modules"); errors.Is(err, os.ErrNotExist) {
			_ = os.WriteFile(c.cacheDir("made-lib-modules"), nil, 0o644)
		}
		config := c.dir("kind-config.yaml")
		if err := os.WriteFile(config, []byte(kindConfig), 0o644); err != nil {
			return err
		}
		if err := c.kind(ctx, tools.Kind, "create", "cluster", "--name", c.Name, "--image", node, "--config", config,
			"--kubeconfig", c.Kubeconfig, "--wait", "3m"); err != nil {
			return err
		}
	}
	ip, err := c.docker.Run(ctx, "inspect", "--format", "{{(index .NetworkSettings.Networks \""+NetworkName+"\").IPAddress}}", container)
	if err != nil {
		return err
	}
	c.NodeIP = ip
	c.IngressURL = fmt.Sprintf("http://%s:%d", ip, IngressNodePort)
	return nil
}

// nodeTools are the node's binaries and the kind CLI, built or found once.
func (c *Cluster) nodeTools(ctx context.Context) (*sandbox.NodeTools, error) {
	if c.tools == nil {
		tools, err := c.builder.BuildNodeTools(ctx)
		if err != nil {
			return nil, err
		}
		c.tools = tools
	}
	return c.tools, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
