package sandbox

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Pinned versions of everything the sandbox runs. The tool modules under
// tools/ require exactly these.
const (
	KubeVersion           = "v1.37.1"
	EtcdVersion           = "v3.7.0"
	KwokVersion           = "v0.8.0"
	KnativeServingVersion = "1.23.0" // knative.dev/serving v0.50.0
)

// tool is one Go module under tools/ and the binaries it builds.
type tool struct {
	module   string // directory under tools/
	version  string
	packages []string // go build targets, relative to the module
	ldflags  string
}

func kubeLDFlags() string {
	// Without version stamps the binaries report v0.0.0 and Knative refuses to
	// start below its minimum Kubernetes version; kwokctl reads --version too.
	minor := strings.Split(KubeVersion, ".")[1]
	flags := []string{"-s", "-w"}
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		flags = append(flags,
			"-X", pkg+".gitVersion="+KubeVersion,
			"-X", pkg+".gitMajor=1",
			"-X", pkg+".gitMinor="+minor,
			"-X", pkg+".gitTreeState=clean")
	}
	return strings.Join(flags, " ")
}

var (
	kubeTool = tool{module: "kube", version: KubeVersion, ldflags: kubeLDFlags(), packages: []string{
		"k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager",
		"k8s.io/kubernetes/cmd/kube-scheduler", "k8s.io/kubernetes/cmd/kubectl"}}
	// A kind node's own: a build of its own, so the sandbox does not wait
	// for it; the packages it shares with the control plane come from Go's
	// build cache.
	kubeNodeTool = tool{module: "kube", version: KubeVersion, ldflags: kubeLDFlags(), packages: []string{
		"k8s.io/kubernetes/cmd/kubelet", "k8s.io/kubernetes/cmd/kubeadm", "k8s.io/kubernetes/cmd/kube-proxy"}}
	etcdTool    = tool{module: "etcd", version: EtcdVersion, ldflags: "-s -w", packages: []string{"."}}
	kwokTool    = tool{module: "kwok", version: KwokVersion, ldflags: "-s -w", packages: []string{"sigs.k8s.io/kwok/cmd/kwok", "sigs.k8s.io/kwok/cmd/kwokctl"}}
	knativeTool = tool{module: "knative", version: "serving-" + KnativeServingVersion, ldflags: "-s -w", packages: []string{
		"./cmd/controller", "knative.dev/serving/cmd/webhook", "./cmd/autoscaler", "./cmd/supervisor"}}
)

// Binaries are absolute paths of the built executables.
type Binaries struct {
	KubeAPIServer, KubeControllerManager, KubeScheduler, Kubectl string
	Etcd, Kwok, Kwokctl                                          string
	KnativeController, KnativeWebhook, KnativeAutoscaler         string
	KnativeSupervisor                                            string
}

// Builder builds the tool modules once per version and content, into a cache
// outside the repository, so a clean clone on a used machine starts in seconds.
type Builder struct {
	ToolsDir string // the tools/ directory of this package
	CacheDir string // where built binaries are kept
	Log      io.Writer
}

// NewBuilder is a Builder with Options' defaults: this repository's tools
// (found from the working directory) and the default cache.
func NewBuilder(log io.Writer) (*Builder, error) {
	dir, err := findToolsDir()
	if err != nil {
		return nil, err
	}
	return &Builder{ToolsDir: dir, CacheDir: DefaultCacheDir(), Log: log}, nil
}

// BuildCluster builds (or finds in the cache) the control plane binaries.
func (b *Builder) BuildCluster(ctx context.Context) (*Binaries, error) {
	bins := &Binaries{}
	dirs := map[*tool]string{}
	for _, t := range []*tool{&kubeTool, &etcdTool, &kwokTool} {
		dir, err := b.build(ctx, t)
		if err != nil {
			return nil, err
		}
		dirs[t] = dir
	}
	bins.KubeAPIServer = filepath.Join(dirs[&kubeTool], "kube-apiserver")
	bins.KubeControllerManager = filepath.Join(dirs[&kubeTool], "kube-controller-manager")
	bins.KubeScheduler = filepath.Join(dirs[&kubeTool], "kube-scheduler")
	bins.Kubectl = filepath.Join(dirs[&kubeTool], "kubectl")
	bins.Etcd = filepath.Join(dirs[&etcdTool], "etcd")
	bins.Kwok = filepath.Join(dirs[&kwokTool], "kwok")
	bins.Kwokctl = filepath.Join(dirs[&kwokTool], "kwokctl")
	return bins, nil
}

// BuildKnative builds (or finds) Knative Serving's controller, webhook and autoscaler.
func (b *Builder) BuildKnative(ctx context.Context, bins *Binaries) error {
	dir, err := b.build(ctx, &knativeTool)
	if err != nil {
		return err
	}
	bins.KnativeController = filepath.Join(dir, "controller")
	bins.KnativeWebhook = filepath.Join(dir, "webhook")
	bins.KnativeAutoscaler = filepath.Join(dir, "autoscaler")
	bins.KnativeSupervisor = filepath.Join(dir, "supervisor")
	return nil
}

// BuildAll builds (or finds) every tool the sandbox and the tests run: the
// cluster, Knative, Crossplane core, the crossplane CLI, the upstream
// functions and the registry. One at a time, so that a first run builds them
// before the tests instead of several test packages building at once on a
// small machine, each starving the others' timing.
func (b *Builder) BuildAll(ctx context.Context) error {
	bins, err := b.BuildCluster(ctx)
	if err != nil {
		return err
	}
	if err := b.BuildKnative(ctx, bins); err != nil {
		return err
	}
	if _, _, err := b.BuildCrossplane(ctx); err != nil {
		return err
	}
	if _, err := b.BuildCrossplaneCLI(ctx); err != nil {
		return err
	}
	for _, f := range UpstreamFunctions {
		if _, _, err := b.BuildFunction(ctx, f); err != nil {
			return err
		}
	}
	_, err = b.build(ctx, &registryTool)
	return err
}

// build returns the cache directory holding t's binaries, building them when
// the directory does not exist yet. The key is the version plus a hash of the
// module's files, so editing a tool module rebuilds it.
func (b *Builder) build(ctx context.Context, t *tool) (string, error) {
	moduleDir := filepath.Join(b.ToolsDir, t.module)
	hash, err := hashModule(moduleDir)
	if err != nil {
		return "", err
	}
	return b.cached(ctx, t.module, t.version+"-"+hash+"-"+t.configHash(), func(ctx context.Context, tmp string) error {
		args := append([]string{"build", "-trimpath", "-buildvcs=false", "-ldflags", t.ldflags, "-o", tmp + string(filepath.Separator)}, t.packages...)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = moduleDir
		cmd.Stdout, cmd.Stderr = b.Log, b.Log
		// Some knative.dev versions are missing from the checksum database; go.sum pins them.
		cmd.Env = append(os.Environ(), "GONOSUMDB=knative.dev", "GOWORK=off", staticEnv)
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s: %w", t.module, err)
		}
		return nil
	})
}

// staticEnv: static binaries, so one build runs on this machine and in images.
const staticEnv = "CGO_ENABLED=0"

// configHash keys what build() does beyond the module's files: the packages,
// ldflags and environment.
func (t *tool) configHash() string {
	h := sha256.Sum256([]byte(strings.Join(t.packages, " ") + "\x00" + t.ldflags + "\x00" + staticEnv))
	return hex.EncodeToString(h[:])[:8]
}

func (b *Builder) isCached(name, key string) bool {
	return fileExists(filepath.Join(b.CacheDir, "bin", name+"-"+key, ".complete"))
}

// cached returns the cache directory bin/<name>-<key>, made by make (into a
// temporary directory) when it does not exist yet: once per machine, however
// many builders ask at once.
func (b *Builder) cached(ctx context.Context, name, key string, make func(ctx context.Context, tmp string) error) (string, error) {
	dir := filepath.Join(b.CacheDir, "bin", name+"-"+key)
	if b.isCached(name, key) {
		return dir, nil
	}

	// Concurrent builders (make sandbox and go test at once) wait for each other.
	if err := os.MkdirAll(filepath.Join(b.CacheDir, "bin"), 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(b.CacheDir, "bin", name+".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}

	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	started := time.Now()
	fmt.Fprintf(b.Log, "building %s %s (first time on this machine; cached in %s)\n", name, key, dir)
	if err := make(ctx, tmp); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), []byte(time.Since(started).String()+"\n"), 0o644); err != nil {
		return "", err
	}
	_ = os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	fmt.Fprintf(b.Log, "built %s %s in %s\n", name, key, time.Since(started).Round(time.Second))
	return dir, nil
}

// hashModule hashes go.mod, go.sum and the Go files of a tool module.
func hashModule(dir string) (string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if !d.IsDir() && (name == "go.mod" || name == "go.sum" || strings.HasSuffix(name, ".go")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("reading tool module %s: %w", dir, err)
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		rel, _ := filepath.Rel(dir, f)
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:12], nil
}

func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// Versions of what the kind cluster adds to the sandbox's tools.
const (
	KindVersion    = "v0.33.0"
	CoreDNSVersion = "v1.14.6"
	TraefikVersion = "v3.6.2"
)

var (
	kindTool    = tool{module: "kind", version: KindVersion, ldflags: "-s -w", packages: []string{"sigs.k8s.io/kind"}}
	corednsTool = tool{module: "coredns", version: CoreDNSVersion, ldflags: "-s -w", packages: []string{"github.com/coredns/coredns"}}
	traefikTool = tool{module: "traefik", version: TraefikVersion, packages: []string{"github.com/traefik/traefik/v3/cmd/traefik"},
		ldflags: "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=" + TraefikVersion}
	// Knative Serving's own programs, as its release images run them (the
	// sandbox runs its own mains of some): the kind cluster's images.
	knativeImagesTool = tool{module: "knative", version: "serving-" + KnativeServingVersion, ldflags: "-s -w", packages: []string{
		"knative.dev/serving/cmd/controller", "knative.dev/serving/cmd/webhook", "knative.dev/serving/cmd/autoscaler",
		"knative.dev/serving/cmd/activator", "knative.dev/serving/cmd/queue"}}
)

// NodeTools are what a kind node image is made of besides Debian's packages.
type NodeTools struct {
	Kube       string // directory of the control plane's binaries and kubectl
	Node       string // directory of kubelet, kubeadm and kube-proxy
	Etcd       string // etcd binary
	CoreDNS    string // coredns binary
	Pause      string // pause binary (static, from Kubernetes' pause.c)
	Kind       string // the kind CLI
	KindModule string // the kind module's source (its node base image's files)
	Key        string // changes whenever any of them does
}

// BuildNodeTools builds (or finds) what a kind node image needs.
func (b *Builder) BuildNodeTools(ctx context.Context) (*NodeTools, error) {
	t := &NodeTools{}
	dirs := map[*tool]string{}
	for _, tl := range []*tool{&kubeTool, &kubeNodeTool, &etcdTool, &corednsTool, &kindTool} {
		dir, err := b.build(ctx, tl)
		if err != nil {
			return nil, err
		}
		dirs[tl] = dir
	}
	t.Kube, t.Node, t.Etcd = dirs[&kubeTool], dirs[&kubeNodeTool], filepath.Join(dirs[&etcdTool], "etcd")
	t.CoreDNS, t.Kind = filepath.Join(dirs[&corednsTool], "coredns"), filepath.Join(dirs[&kindTool], "kind")
	pauseDir, err := b.cached(ctx, "pause", KubeVersion, func(ctx context.Context, tmp string) error {
		src, err := moduleDir(ctx, filepath.Join(b.ToolsDir, "kube"), "k8s.io/kubernetes")
		if err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, "gcc", "-static", "-O2", "-DVERSION=3.10.2", "-o", filepath.Join(tmp, "pause"),
			filepath.Join(src, "build", "pause", "linux", "pause.c"))
		cmd.Stdout, cmd.Stderr = b.Log, b.Log
		return cmd.Run()
	})
	if err != nil {
		return nil, err
	}
	t.Pause = filepath.Join(pauseDir, "pause")
	if t.KindModule, err = b.KindModuleDir(ctx); err != nil {
		return nil, err
	}
	t.Key = filepath.Base(t.Kube) + filepath.Base(t.Node) + filepath.Base(dirs[&etcdTool]) + filepath.Base(dirs[&corednsTool]) + filepath.Base(dirs[&kindTool])
	return t, nil
}

// KindModuleDir is the kind module's source: its node base image's files.
func (b *Builder) KindModuleDir(ctx context.Context) (string, error) {
	return moduleDir(ctx, filepath.Join(b.ToolsDir, "kind"), "sigs.k8s.io/kind")
}

// BuildKnativeImages builds (or finds) Knative Serving's controller, webhook,
// autoscaler, activator and queue; returns their directory.
func (b *Builder) BuildKnativeImages(ctx context.Context) (string, error) {
	return b.build(ctx, &knativeImagesTool)
}

// BuildTraefik builds (or finds) Traefik, the kind cluster's networking layer.
func (b *Builder) BuildTraefik(ctx context.Context) (string, error) {
	dir, err := b.build(ctx, &traefikTool)
	return filepath.Join(dir, "traefik"), err
}

// moduleDir is the module cache directory of a module a tool module requires.
func moduleDir(ctx context.Context, toolModule, module string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = toolModule
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("finding module %s: %w", module, err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		// Listed but not downloaded yet.
		dl := exec.CommandContext(ctx, "go", "mod", "download", module)
		dl.Dir, dl.Env = toolModule, cmd.Env
		if err := dl.Run(); err != nil {
			return "", fmt.Errorf("downloading module %s: %w", module, err)
		}
		return moduleDir(ctx, toolModule, module)
	}
	return dir, nil
}

// LockFile takes an exclusive lock on path (created if needed) until the
// returned function is called: one command at a time sets up what it guards.
func LockFile(path string) (func(), error) { return lockFile(path) }

// BuildRegistry builds (or finds) the OCI registry (go-containerregistry's).
func (b *Builder) BuildRegistry(ctx context.Context) (string, error) {
	dir, err := b.build(ctx, &registryTool)
	return filepath.Join(dir, "registry"), err
}
