package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/tf-knative/terraform-provider-knative/internal/xpkg"
)

// Crossplane packages in the sandbox, installed the way users install them:
//
//   - The sandbox runs an OCI registry (go-containerregistry's pkg/registry)
//     as a local process. PublishPackages builds this repository's packages
//     and the upstream functions (function-patch-and-transform,
//     function-auto-ready) for this machine's platform and pushes them there.
//   - ImageConfigs rewrite the packages' real homes (ghcr.io/tf-knative,
//     xpkg.crossplane.io/crossplane-contrib) to that registry, as an
//     air-gapped cluster's mirror does, so the same Provider, Function and
//     Configuration objects install on the sandbox and on a real cluster.
//   - Crossplane's package manager pulls the packages, installs their CRDs
//     and resolves a Configuration's dependencies itself.
//   - Crossplane runs with the External package runtime: RunPackages is that
//     runtime. For every active ProviderRevision and FunctionRevision it
//     pulls the revision's own image (the package, whose runtime image is
//     embedded), takes out its entrypoint and runs it as a local process, as
//     the Deployment runtime would run the image in a pod: what runs is what
//     ships.

// The upstream composition functions the sandbox installs from packages.
var (
	PatchAndTransform = UpstreamFunction{Name: "function-patch-and-transform", Module: "github.com/crossplane-contrib/function-patch-and-transform", Version: "v0.10.9"}
	AutoReady         = UpstreamFunction{Name: "function-auto-ready", Module: "github.com/crossplane-contrib/function-auto-ready", Version: "v0.6.0"}

	// UpstreamFunctions are all of them: what the sandbox publishes and BuildAll builds.
	UpstreamFunctions = []UpstreamFunction{PatchAndTransform, AutoReady}
)

// UpstreamHome is where the upstream functions' packages are published.
const UpstreamHome = "xpkg.crossplane.io/crossplane-contrib"

// CrossplaneCLIVersion is the crossplane CLI (cmd/crank) built for
// `xpkg build` and `render`: the newest release of crossplane/v2 that has it.
const CrossplaneCLIVersion = "v2.2.1"

var crossplaneCLITool = tool{module: "crossplane-cli", version: CrossplaneCLIVersion,
	ldflags:  "-s -w -X github.com/crossplane/crossplane/v2/internal/version.version=" + CrossplaneCLIVersion,
	packages: []string{"github.com/crossplane/crossplane/v2/cmd/crank"}}

var registryTool = tool{module: "registry", version: "ggcr-v0.22.1", ldflags: "-s -w", packages: []string{"."}}

const registryProcess = "registry"

var (
	providerRevisions = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1", Resource: "providerrevisions"}
	imageConfigs      = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1beta1", Resource: "imageconfigs"}
	packageKinds      = []schema.GroupVersionResource{
		{Group: "pkg.crossplane.io", Version: "v1", Resource: "configurations"},
		{Group: "pkg.crossplane.io", Version: "v1", Resource: "providers"},
		functions,
	}
)

// BuildCrossplaneCLI builds (or finds in the cache) the crossplane CLI.
func (b *Builder) BuildCrossplaneCLI(ctx context.Context) (string, error) {
	dir, err := b.build(ctx, &crossplaneCLITool)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "crank"), nil
}

// Cached reports whether the crossplane CLI and the functions are built on
// this machine already, so a quick run can use them without building.
func (b *Builder) Cached(fns ...UpstreamFunction) bool {
	hash, err := hashModule(filepath.Join(b.ToolsDir, crossplaneCLITool.module))
	if err != nil || !b.isCached(crossplaneCLITool.module, crossplaneCLITool.version+"-"+hash+"-"+crossplaneCLITool.configHash()) {
		return false
	}
	for _, f := range fns {
		if !b.isCached(f.Name, f.Version) {
			return false
		}
	}
	return true
}

// UpstreamFunction is a composition function of crossplane-contrib, built
// from its module on the Go module proxy.
type UpstreamFunction struct{ Name, Module, Version string }

// BuildFunction builds (or finds in the cache) an upstream function: its
// binary for this machine and a copy of its package directory. The module is
// built in a copy of itself (`go build .`): function-auto-ready's go.mod
// names another module path than the one it is served under, so it cannot
// be required from a tools module.
func (b *Builder) BuildFunction(ctx context.Context, f UpstreamFunction) (binary, packageRoot string, err error) {
	dir, err := b.cached(ctx, f.Name, f.Version, func(ctx context.Context, tmp string) error {
		out, err := goCommand(ctx, tmp, "mod", "download", "-json", f.Module+"@"+f.Version)
		if err != nil {
			return err
		}
		var mod struct{ Dir, Error string }
		if err := json.Unmarshal([]byte(out), &mod); err != nil || mod.Dir == "" {
			return fmt.Errorf("downloading %s@%s: %w %s", f.Module, f.Version, err, mod.Error)
		}
		src := filepath.Join(tmp, "src")
		if err := os.CopyFS(src, os.DirFS(mod.Dir)); err != nil {
			return err
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-buildvcs=false", "-ldflags", "-s -w", "-o", filepath.Join(tmp, f.Name), ".")
		cmd.Dir = src
		cmd.Stdout, cmd.Stderr = b.Log, b.Log
		cmd.Env = append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=0",
			"GONOSUMDB=github.com/crossplane,github.com/crossplane-contrib")
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s %s: %w", f.Name, f.Version, err)
		}
		if err := os.CopyFS(filepath.Join(tmp, "package"), os.DirFS(filepath.Join(mod.Dir, "package"))); err != nil {
			return err
		}
		// Only the binary and the package directory are kept.
		if err := makeWritable(src); err != nil {
			return err
		}
		return os.RemoveAll(src)
	})
	if err != nil {
		return "", "", err
	}
	return filepath.Join(dir, f.Name), filepath.Join(dir, "package"), nil
}

// makeWritable lets a copy of the read-only module cache be removed.
func makeWritable(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		}
		return os.Chmod(p, mode)
	})
}

// StartRegistry runs the sandbox's OCI registry, or finds the one running,
// and returns its address (127.0.0.1:PORT).
func (s *Sandbox) StartRegistry(ctx context.Context) (string, error) {
	dir := filepath.Join(s.Dir, "registry")
	addressFile := filepath.Join(dir, "address")
	if data, err := os.ReadFile(addressFile); err == nil && s.ProcessPID(registryProcess) > 0 {
		return string(data), nil
	}
	builder := &Builder{ToolsDir: s.opts.ToolsDir, CacheDir: s.opts.CacheDir, Log: s.opts.Log}
	bin, err := builder.build(ctx, &registryTool)
	if err != nil {
		return "", err
	}
	ports, err := freePorts(1)
	if err != nil {
		return "", err
	}
	address := fmt.Sprintf("127.0.0.1:%d", ports[0])
	cmd := exec.Command(filepath.Join(bin, "registry"), "-address", address, "-blobs", filepath.Join(dir, "blobs"))
	if err := s.StartProcess(registryProcess, cmd, filepath.Join(dir, "registry.log")); err != nil {
		return "", err
	}
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if s.ProcessPID(registryProcess) == 0 {
			return false, errors.New("it exited")
		}
		resp, err := http.Get("http://" + address + "/v2/")
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		return "", fmt.Errorf("the sandbox's registry did not start (%w): %s", err, logTail(filepath.Join(dir, "registry.log"), 10))
	}
	return address, os.WriteFile(addressFile, []byte(address), 0o644)
}

// PublishPackages builds this repository's packages at version and the
// upstream functions for this machine's platform, pushes them to the
// sandbox's registry, and points their homes there with ImageConfigs. It
// returns the registry's address.
func (x *Crossplane) PublishPackages(ctx context.Context, version string) (string, error) {
	s := x.s
	registry, err := s.StartRegistry(ctx)
	if err != nil {
		return "", err
	}
	builder := &Builder{ToolsDir: s.opts.ToolsDir, CacheDir: s.opts.CacheDir, Log: s.opts.Log}
	crank, err := builder.BuildCrossplaneCLI(ctx)
	if err != nil {
		return "", err
	}
	repoRoot := filepath.Join(s.opts.ToolsDir, "..", "..", "..")
	push := func(p xpkg.Package, org, version string) error {
		b := &xpkg.Builder{RepoRoot: repoRoot, Crank: crank, OutDir: filepath.Join(x.dir, "xpkg"), Version: version, Log: io.Discard}
		files, err := b.Build(ctx, p, []string{xpkg.HostPlatform()})
		if err != nil {
			return err
		}
		return xpkg.Push(ctx, crank, io.Discard, registry+"/"+org+"/"+p.Name+":"+version, files)
	}
	for _, p := range xpkg.Ours {
		if err := push(p, path(xpkg.Home), version); err != nil {
			return "", err
		}
	}
	for _, f := range UpstreamFunctions {
		binary, root, err := builder.BuildFunction(ctx, f)
		if err != nil {
			return "", err
		}
		if err := push(xpkg.Package{Name: f.Name, Root: root, Binary: binary}, path(UpstreamHome), f.Version); err != nil {
			return "", err
		}
	}

	cfg, err := s.RESTConfig()
	if err != nil {
		return "", err
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return "", err
	}
	for _, home := range []string{xpkg.Home, UpstreamHome} {
		ic := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "pkg.crossplane.io/v1beta1", "kind": "ImageConfig",
			"metadata": map[string]any{"name": "sandbox-mirror-" + strings.NewReplacer(".", "-", "/", "-").Replace(home)},
			"spec": map[string]any{
				"matchImages":  []any{map[string]any{"type": "Prefix", "prefix": home}},
				"rewriteImage": map[string]any{"prefix": registry + "/" + path(home)},
			},
		}}
		if _, err := client.Resource(imageConfigs).Apply(ctx, ic.GetName(), ic, metav1.ApplyOptions{FieldManager: "sandbox", Force: true}); err != nil {
			return "", fmt.Errorf("pointing %s at the sandbox's registry: %w", home, err)
		}
	}
	return registry, nil
}

// path is a repository's path without its registry (tf-knative of ghcr.io/tf-knative).
func path(home string) string {
	_, p, _ := strings.Cut(home, "/")
	return p
}

// PackageArgs are extra arguments for a package's runtime, by package name
// (the tests' quick polls for the provider).
type PackageArgs map[string][]string

// RunPackages is the External package runtime: it runs the runtime of every
// active ProviderRevision and FunctionRevision that does not run yet (and
// restarts one whose revision's image changed), reports it healthy, and
// returns once every Configuration, Provider and Function is Healthy.
func (x *Crossplane) RunPackages(ctx context.Context, timeout time.Duration, args PackageArgs) error {
	cfg, err := x.s.RESTConfig()
	if err != nil {
		return err
	}
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var waitingFor string
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		for _, kind := range []struct {
			gvr    schema.GroupVersionResource
			prefix string
		}{{providerRevisions, providerProcessPrefix}, {functionRevisions, functionProcessPrefix}} {
			revisions, err := client.Resource(kind.gvr).List(ctx, metav1.ListOptions{})
			if err != nil {
				waitingFor = err.Error()
				return false, nil
			}
			for _, rev := range revisions.Items {
				if state, _, _ := unstructured.NestedString(rev.Object, "spec", "desiredState"); state != "Active" {
					continue
				}
				pkg := rev.GetLabels()["pkg.crossplane.io/package"]
				if err := x.runRevision(ctx, client, kube, kind.gvr, &rev, kind.prefix+pkg, args[pkg]); err != nil {
					return false, err
				}
			}
		}
		waitingFor = ""
		for _, gvr := range packageKinds {
			packages, err := client.Resource(gvr).List(ctx, metav1.ListOptions{})
			if err != nil {
				waitingFor = err.Error()
				return false, nil
			}
			for _, p := range packages.Items {
				conditions, _, _ := unstructured.NestedSlice(p.Object, "status", "conditions")
				if conditionStatus(conditions, "Installed") != "True" || conditionStatus(conditions, "Healthy") != "True" {
					waitingFor += fmt.Sprintf(" %s %s: %s;", p.GetKind(), p.GetName(), conditionsSummary(conditions))
				}
			}
		}
		return waitingFor == "", nil
	})
	if err != nil {
		return fmt.Errorf("packages not healthy (%s) (Crossplane's log: %s): %w", strings.TrimSpace(waitingFor), x.LogFile, err)
	}
	return nil
}

// runRevision makes sure the revision's runtime runs as the process name,
// doing what the Deployment runtime does around it: the revision's TLS
// server Secret first (Crossplane establishes a provider's CRDs only once the
// revision names it), a provider started once its CRDs are established (in a
// pod it would restart until then), a function's endpoint, and the runtime's
// verdict.
func (x *Crossplane) runRevision(ctx context.Context, client dynamic.Interface, kube kubernetes.Interface, gvr schema.GroupVersionResource, rev *unstructured.Unstructured, process string, extraArgs []string) error {
	pkg := rev.GetLabels()["pkg.crossplane.io/package"]
	secretName, _, _ := unstructured.NestedString(rev.Object, "spec", "tlsServerSecretName")
	if secretName == "" {
		secretName = pkg + "-tls-server"
	}
	if observed, _, _ := unstructured.NestedString(rev.Object, "status", "tlsServerSecretName"); observed != secretName {
		if err := x.serverSecret(ctx, kube, secretName); err != nil {
			return err
		}
		if err := patchStatus(ctx, client.Resource(gvr), rev.GetName(), map[string]any{"tlsServerSecretName": secretName}); err != nil {
			return err
		}
	}
	conditions, _, _ := unstructured.NestedSlice(rev.Object, "status", "conditions")
	if gvr == providerRevisions && conditionStatus(conditions, "RevisionHealthy") != "True" {
		return nil // its CRDs are not established yet
	}

	// The image after the ImageConfigs' rewrite, which the package manager
	// reports once it has pulled the package.
	image, _, _ := unstructured.NestedString(rev.Object, "status", "resolvedImage")
	if image == "" {
		return nil
	}
	marker := filepath.Join(x.dir, "packages", process+".image")
	if running, _ := os.ReadFile(marker); string(running) == image && x.s.ProcessPID(process) > 0 {
		return markRuntimeHealthy(ctx, client.Resource(gvr), rev)
	}
	binary, err := x.runtimeBinary(ctx, image)
	if err != nil {
		return fmt.Errorf("the runtime of %s: %w", rev.GetName(), err)
	}
	x.s.StopProcess(process)
	command := exec.Command(binary, extraArgs...)
	endpoint := ""
	if gvr == functionRevisions {
		ports, err := freePorts(1)
		if err != nil {
			return err
		}
		endpoint = fmt.Sprintf("127.0.0.1:%d", ports[0])
		command.Args = append(command.Args, "--address", endpoint, "--tls-certs-dir", x.FunctionCertsDir)
	} else {
		command.Args = append(command.Args, "--kubeconfig", x.s.Kubeconfig)
	}
	if err := x.s.StartProcess(process, command, filepath.Join(x.dir, process+".log")); err != nil {
		return err
	}
	if err := os.WriteFile(marker, []byte(image), 0o644); err != nil {
		return err
	}
	if endpoint != "" {
		if err := patchStatus(ctx, client.Resource(gvr), rev.GetName(), map[string]any{"endpoint": "dns:///" + endpoint}); err != nil {
			return err
		}
	}
	return markRuntimeHealthy(ctx, client.Resource(gvr), rev)
}

func patchStatus(ctx context.Context, revisions dynamic.NamespaceableResourceInterface, name string, status map[string]any) error {
	patch, _ := json.Marshal(map[string]any{"status": status})
	if _, err := revisions.Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		return fmt.Errorf("setting the status of %s: %w", name, err)
	}
	return nil
}

// runtimeBinary pulls image (for this machine's platform) and takes out its
// entrypoint, once per image digest.
func (x *Crossplane) runtimeBinary(ctx context.Context, image string) (string, error) {
	ref, err := name.ParseReference(image)
	if err != nil {
		return "", err
	}
	// The sandbox is offline: it pulls from its own registry only.
	if host, _, _ := strings.Cut(ref.Context().RegistryStr(), ":"); host != "127.0.0.1" && host != "localhost" {
		return "", fmt.Errorf("%s is not in the sandbox's registry (no ImageConfig rewrote it): publish it there first (sandbox publish)", image)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: runtime.GOARCH}))
	if err != nil {
		return "", fmt.Errorf("pulling %s: %w", image, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(x.dir, "packages", digest.Hex[:16])
	if names, _ := filepath.Glob(filepath.Join(dir, "*")); len(names) == 1 {
		return names[0], nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(x.dir, "runtime-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	entrypoint, err := xpkg.Entrypoint(img, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", image, err)
	}
	out := filepath.Join(dir, filepath.Base(entrypoint))
	if err := os.Chmod(f.Name(), 0o755); err != nil {
		return "", err
	}
	return out, os.Rename(f.Name(), out)
}

// serverSecret is what the Deployment runtime makes for a package: a Secret
// with its server certificate (for 127.0.0.1, signed by Crossplane's CA),
// which its revision names.
func (x *Crossplane) serverSecret(ctx context.Context, kube kubernetes.Interface, name string) error {
	certs := map[string][]byte{}
	for _, file := range []string{"ca.crt", "tls.crt", "tls.key"} {
		data, err := os.ReadFile(filepath.Join(x.FunctionCertsDir, file))
		if err != nil {
			return err
		}
		certs[file] = data
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: CrossplaneNamespace}, Type: corev1.SecretTypeTLS, Data: certs}
	secrets := kube.CoreV1().Secrets(CrossplaneNamespace)
	_, err := secrets.Update(ctx, secret, metav1.UpdateOptions{})
	if apierrors.IsNotFound(err) {
		_, err = secrets.Create(ctx, secret, metav1.CreateOptions{})
	}
	return err
}

// markRuntimeHealthy reports the runtime's verdict on the revision, which its
// package's Healthy waits for.
func markRuntimeHealthy(ctx context.Context, revisions dynamic.NamespaceableResourceInterface, rev *unstructured.Unstructured) error {
	conditions, _, _ := unstructured.NestedSlice(rev.Object, "status", "conditions")
	if conditionStatus(conditions, "RuntimeHealthy") == "True" {
		return nil
	}
	healthy := map[string]any{"type": "RuntimeHealthy", "status": "True", "reason": "HealthyPackageRevision",
		"lastTransitionTime": time.Now().UTC().Format(time.RFC3339)}
	var ops []map[string]any
	switch i := conditionIndex(conditions, "RuntimeHealthy"); {
	case len(conditions) == 0:
		ops = []map[string]any{{"op": "add", "path": "/status/conditions", "value": []any{healthy}}}
	case i < 0:
		ops = []map[string]any{{"op": "add", "path": "/status/conditions/-", "value": healthy}}
	default:
		ops = []map[string]any{{"op": "replace", "path": fmt.Sprintf("/status/conditions/%d", i), "value": healthy}}
	}
	patch, _ := json.Marshal(ops)
	// A conflicting or stale patch (the revision changed meanwhile) is tried
	// again at the next look.
	if _, err := revisions.Patch(ctx, rev.GetName(), types.JSONPatchType, patch, metav1.PatchOptions{}, "status"); err != nil && !apierrors.IsConflict(err) && !apierrors.IsInvalid(err) {
		return fmt.Errorf("reporting the runtime of %s healthy: %w", rev.GetName(), err)
	}
	return nil
}

func conditionIndex(conditions []any, typ string) int {
	for i, c := range conditions {
		if c, ok := c.(map[string]any); ok && c["type"] == typ {
			return i
		}
	}
	return -1
}

// conditionsSummary is "Type=Status (Reason: message)" of each condition that is not True.
func conditionsSummary(conditions []any) string {
	var parts []string
	for _, c := range conditions {
		if c, ok := c.(map[string]any); ok && c["status"] != "True" {
			parts = append(parts, fmt.Sprintf("%v=%v (%v: %v)", c["type"], c["status"], c["reason"], c["message"]))
		}
	}
	if len(parts) == 0 {
		return "no conditions yet"
	}
	return strings.Join(parts, ", ")
}
