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
	return b.cached(ctx, t.module, t.version+"-"+hash, func(ctx context.Context, tmp string) error {
		args := append([]string{"build", "-trimpath", "-buildvcs=false", "-ldflags", t.ldflags, "-o", tmp + string(filepath.Separator)}, t.packages...)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = moduleDir
		cmd.Stdout, cmd.Stderr = b.Log, b.Log
		// Some knative.dev versions are missing from the checksum database; go.sum pins them.
		cmd.Env = append(os.Environ(), "GONOSUMDB=knative.dev", "GOWORK=off")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s: %w", t.module, err)
		}
		return nil
	})
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
