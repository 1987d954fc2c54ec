// Package sandbox runs a real local Kubernetes cluster without Docker: etcd,
// kube-apiserver, kube-controller-manager and kube-scheduler built from the Go
// module proxy, with KWOK simulating a node and its pods, all orchestrated by
// kwokctl's binary runtime on loopback. Tests and the make targets use it; any
// other cluster reached through a kubeconfig works the same way for the provider.
package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ServiceRange is the sandbox's service ClusterIP range: 65,534 addresses.
const ServiceRange = "10.0.0.0/16"

// NodeName is the simulated node every sandbox pod is scheduled to.
const NodeName = "sandbox-node"

// Options select a sandbox and where its files live.
type Options struct {
	Name     string    // sandboxes with different names run side by side; default "default"
	ToolsDir string    // internal/sandbox/tools of this repository; found from the working directory when empty
	CacheDir string    // built binaries and sandbox directories; default $TFK_CACHE_DIR or the user cache dir
	Log      io.Writer // progress and build output; default os.Stderr
}

// Sandbox is a running local cluster.
type Sandbox struct {
	Name       string
	Dir        string // everything of this sandbox: kubeconfig, kwokctl state, component logs
	Kubeconfig string
	Binaries   *Binaries
	opts       Options

	releasePorts func() // held while the control plane is stopped
}

// Complete fills in defaults.
func (o *Options) Complete() error {
	if o.Name == "" {
		o.Name = "default"
	}
	if strings.ContainsAny(o.Name, "/ \t") {
		return fmt.Errorf("sandbox name %q must not contain slashes or spaces", o.Name)
	}
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.CacheDir == "" {
		o.CacheDir = DefaultCacheDir()
	}
	if o.ToolsDir == "" {
		dir, err := findToolsDir()
		if err != nil {
			return err
		}
		o.ToolsDir = dir
	}
	return nil
}

// DefaultCacheDir is where binaries and sandboxes live unless TFK_CACHE_DIR says otherwise.
func DefaultCacheDir() string {
	if dir := os.Getenv("TFK_CACHE_DIR"); dir != "" {
		return dir
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "terraform-provider-knative")
}

func (o *Options) dir() string { return filepath.Join(o.CacheDir, "sandboxes", o.Name) }

// Up starts the named sandbox, or returns it if it is already running.
func Up(ctx context.Context, opts Options) (*Sandbox, error) {
	if err := opts.Complete(); err != nil {
		return nil, err
	}
	builder := &Builder{ToolsDir: opts.ToolsDir, CacheDir: opts.CacheDir, Log: opts.Log}
	bins, err := builder.BuildCluster(ctx)
	if err != nil {
		return nil, err
	}
	if err := builder.BuildKnative(ctx, bins); err != nil {
		return nil, err
	}
	s := &Sandbox{Name: opts.Name, Dir: opts.dir(), Binaries: bins, opts: opts}
	s.Kubeconfig = filepath.Join(s.Dir, "kubeconfig")
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockFile(filepath.Join(s.Dir, ".lock"))
	if err != nil {
		return nil, err
	}
	defer unlock()

	// Components a test paused (PauseKnative, StopControlPlane) and did not
	// resume, because it died, run again.
	if s.ControlPlaneStopped() {
		_ = s.StartControlPlane(ctx)
	}
	_ = os.RemoveAll(filepath.Join(s.Dir, "paused"))
	if s.healthy(ctx) {
		fmt.Fprintf(opts.Log, "sandbox %q is already running\n", s.Name)
		if err := s.ensureNode(ctx); err != nil {
			return nil, err
		}
		return s, s.ensureSupervisor()
	}
	// A sandbox that is not healthy may have left processes behind (a reboot
	// keeps the state but not the processes): clear it before creating anew.
	s.teardown()

	started := time.Now()
	if err := s.create(ctx); err != nil {
		return nil, err
	}
	if err := s.ensureNode(ctx); err != nil {
		s.teardown()
		return nil, err
	}
	if err := s.ensureSupervisor(); err != nil {
		s.teardown()
		return nil, err
	}
	fmt.Fprintf(opts.Log, "sandbox %q started in %s\n", s.Name, time.Since(started).Round(100*time.Millisecond))
	return s, nil
}

// create starts the cluster's components and returns once its API server
// serves. Every kwokctl picks its ports by probing downward from 32767 and
// binds them only when the components start, so two sandboxes created at the
// same time pick the same ports: creates are serialized machine-wide, up to
// the point where this one's ports are bound. A create that still fails (a
// port taken by something else) is cleared and tried once more.
func (s *Sandbox) create(ctx context.Context) error {
	unlock, err := s.lockCreates()
	if err != nil {
		return err
	}
	defer unlock()
	configPath := filepath.Join(s.Dir, "kwokctl.yaml")
	if err := os.WriteFile(configPath, []byte(s.kwokctlConfig()), 0o644); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := s.kwokctl(ctx, "create", "cluster", "--name", s.Name, "--runtime", "binary",
			"--config", configPath, "--kubeconfig", s.Kubeconfig, "--wait", "2m")
		if err == nil && !s.becomesReady(ctx) {
			// kwokctl reports a cluster that never served only in its log.
			err = fmt.Errorf("its API server is not ready%s%s", s.readinessFailures(), s.componentFailures())
		}
		if err == nil {
			return nil
		}
		// kwokctl delete removes the component logs with the cluster: keep them.
		kept := filepath.Join(s.Dir, "failed-start-logs")
		_ = os.RemoveAll(kept)
		_ = os.Rename(s.LogDir(), kept)
		s.teardown()
		if attempt == 2 || ctx.Err() != nil {
			return fmt.Errorf("starting sandbox %q (component logs in %s): %w", s.Name, kept, err)
		}
		fmt.Fprintf(s.opts.Log, "sandbox %q did not start (%v); trying once more\n", s.Name, err)
	}
}

// becomesReady waits for the API server's /readyz: kwokctl's wait ends at
// /healthz, and readiness (post-start hooks) follows a little later. A
// component that died (a port taken) never gets there.
func (s *Sandbox) becomesReady(ctx context.Context) bool {
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		return s.healthy(ctx), nil
	})
	return err == nil
}

// readinessFailures names the API server's readiness checks that fail, or
// says that it does not answer.
func (s *Sandbox) readinessFailures() string {
	client, err := s.discoveryClient()
	if err != nil {
		return ": " + err.Error()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	body, err := client.RESTClient().Get().AbsPath("/readyz").Param("verbose", "true").DoRaw(ctx)
	if len(body) == 0 && err != nil {
		return " (/readyz: " + err.Error() + ")"
	}
	var failed []string
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "[-]") {
			failed = append(failed, strings.TrimPrefix(line, "[-]"))
		}
	}
	if len(failed) == 0 {
		return ""
	}
	return " (failing readiness checks: " + strings.Join(failed, "; ") + ")"
}

// teardown stops whatever a failed start left running.
func (s *Sandbox) teardown() {
	s.stopProcesses()
	_ = s.kwokctl(context.Background(), "delete", "cluster", "--name", s.Name, "--kubeconfig", s.Kubeconfig)
	_ = os.Remove(s.Kubeconfig)
}

// componentFailures names the components whose logs end in a fatal error, with
// that error: what a user needs when a sandbox does not start.
func (s *Sandbox) componentFailures() string {
	var b strings.Builder
	for _, component := range []string{"etcd", "kube-apiserver"} {
		data, err := os.ReadFile(filepath.Join(s.LogDir(), component+".log"))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		for i := len(lines) - 1; i >= 0 && i >= len(lines)-5; i-- {
			if strings.Contains(lines[i], `"level":"fatal"`) || strings.Contains(lines[i], "command failed") || strings.Contains(lines[i], "address already in use") {
				line := lines[i]
				if len(line) > 300 {
					line = line[:300] + "..."
				}
				fmt.Fprintf(&b, "\n%s: %s", component, line)
				break
			}
		}
	}
	return b.String()
}

// Down stops the named sandbox's processes and removes its state. Other
// sandboxes are not touched. Built binaries stay cached.
func Down(ctx context.Context, opts Options) error {
	if err := opts.Complete(); err != nil {
		return err
	}
	s := &Sandbox{Name: opts.Name, Dir: opts.dir(), opts: opts}
	s.Kubeconfig = filepath.Join(s.Dir, "kubeconfig")
	if _, err := os.Stat(s.Dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	builder := &Builder{ToolsDir: opts.ToolsDir, CacheDir: opts.CacheDir, Log: opts.Log}
	bins, err := builder.BuildCluster(ctx)
	if err != nil {
		return err
	}
	s.Binaries = bins
	s.stopProcesses()
	if err := s.kwokctl(ctx, "delete", "cluster", "--name", s.Name, "--kubeconfig", s.Kubeconfig); err != nil {
		return fmt.Errorf("stopping sandbox %q: %w", s.Name, err)
	}
	return os.RemoveAll(s.Dir)
}

// StopControlPlane stops the cluster's etcd, API server, controller manager,
// scheduler and KWOK, keeping their state, until StartControlPlane: for
// tests of what clients do while the API server is gone. Knative's processes
// keep running and reconnect. Until the restart, no other sandbox is
// created: it would probe these ports free and take them.
func (s *Sandbox) StopControlPlane(ctx context.Context) error {
	unlock, err := s.lockCreates()
	if err != nil {
		return err
	}
	if err := s.stopControlPlane(ctx); err != nil {
		unlock()
		return err
	}
	s.releasePorts = unlock
	return nil
}

func (s *Sandbox) stopControlPlane(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Dir(s.controlPlaneMarker()), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(s.controlPlaneMarker(), nil, 0o644); err != nil {
		return err
	}
	return s.kwokctl(ctx, "stop", "cluster", "--name", s.Name)
}

// StartControlPlane starts what StopControlPlane stopped and returns once
// the API server is ready.
func (s *Sandbox) StartControlPlane(ctx context.Context) error {
	if s.releasePorts != nil {
		defer func() { s.releasePorts(); s.releasePorts = nil }()
	}
	if err := s.kwokctl(ctx, "start", "cluster", "--name", s.Name); err != nil {
		return err
	}
	if !s.becomesReady(ctx) {
		return fmt.Errorf("sandbox %q: its API server is not ready after a restart%s%s", s.Name, s.readinessFailures(), s.componentFailures())
	}
	return os.Remove(s.controlPlaneMarker())
}

// ControlPlaneStopped reports whether StopControlPlane stopped the control
// plane and nothing started it again (a test that died, for instance).
func (s *Sandbox) ControlPlaneStopped() bool { return fileExists(s.controlPlaneMarker()) }

func (s *Sandbox) controlPlaneMarker() string { return filepath.Join(s.Dir, "paused", "control-plane") }

// lockCreates keeps other sandboxes from being created (and probing ports
// free) until the returned function is called.
func (s *Sandbox) lockCreates() (func(), error) {
	return lockFile(filepath.Join(filepath.Dir(s.Dir), ".create.lock"))
}

// LogDir holds one log file per component.
func (s *Sandbox) LogDir() string { return filepath.Join(s.Dir, "kwok", "clusters", s.Name, "logs") }

// RESTConfig is an admin config for the sandbox.
func (s *Sandbox) RESTConfig() (*rest.Config, error) {
	return clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
}

func (s *Sandbox) kwokctlConfig() string {
	b := s.Binaries
	return fmt.Sprintf(`apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  runtime: binary
  bindAddress: 127.0.0.1
  # KWOK's controller runs the node's pods only once it holds the node's lease.
  # Restarted (StopControlPlane), it gets a new identity and waits for its
  # predecessor's lease to expire: 40 seconds by default.
  nodeLeaseDurationSeconds: 10
  kubeVersion: %s
  etcdVersion: %s
  kwokVersion: %s
  kubeApiserverBinary: %s
  kubeControllerManagerBinary: %s
  kubeSchedulerBinary: %s
  kubectlBinary: %s
  kwokControllerBinary: %s
  etcdBinary: %s
componentsPatches:
# Room for thousands of Knative Services (each takes three ClusterIPs); the
# API server's default /24 holds about 80.
- name: kube-apiserver
  extraArgs:
  - key: service-cluster-ip-range
    value: %s
# Garbage collection as quick as a large real cluster's, not a default one's:
# the controller-manager's client at Kubernetes' scalability tests' rate (its
# default of 20 requests per second made a foreground delete of 100 Knative
# Services take minutes) and more collector workers than the default 20.
- name: kube-controller-manager
  extraArgs:
  - key: kube-api-qps
    value: "100"
  - key: kube-api-burst
    value: "200"
  - key: concurrent-gc-syncs
    value: "50"
`, KubeVersion, strings.TrimPrefix(EtcdVersion, "v"), KwokVersion,
		b.KubeAPIServer, b.KubeControllerManager, b.KubeScheduler, b.Kubectl, b.Kwok, b.Etcd, ServiceRange)
}

// kwokctl runs kwokctl for this sandbox. Its output goes to kwokctl.log in the
// sandbox's directory; on failure the end of it is part of the error.
func (s *Sandbox) kwokctl(ctx context.Context, args ...string) error {
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, s.Binaries.Kwokctl, args...)
	// KWOK_WORKDIR keeps kwokctl's state and the component logs in the sandbox's
	// directory; without it kwokctl uses ~/.kwok for every sandbox.
	cmd.Env = append(os.Environ(), "KWOK_WORKDIR="+filepath.Join(s.Dir, "kwok"))
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if f, ferr := os.OpenFile(filepath.Join(s.Dir, "kwokctl.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); ferr == nil {
		_, _ = f.Write(out.Bytes())
		f.Close()
	}
	if err != nil {
		tail := out.String()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return fmt.Errorf("kwokctl %s: %w\n%s", strings.Join(args[:2], " "), err, tail)
	}
	return nil
}

func (s *Sandbox) healthy(ctx context.Context) bool {
	if _, err := os.Stat(s.Kubeconfig); err != nil {
		return false
	}
	client, err := s.discoveryClient()
	if err != nil {
		return false
	}
	body, err := client.RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	return err == nil && string(body) == "ok"
}

// discoveryClient reaches the API server's own paths (/readyz), with a short timeout.
func (s *Sandbox) discoveryClient() (*discovery.DiscoveryClient, error) {
	cfg, err := s.RESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 3 * time.Second
	return discovery.NewDiscoveryClientForConfig(cfg)
}

// ensureNode registers the simulated node that KWOK keeps Ready and whose pods
// it runs, and waits until it is Ready.
func (s *Sandbox) ensureNode(ctx context.Context) error {
	cfg, err := s.RESTConfig()
	if err != nil {
		return err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        NodeName,
			Labels:      map[string]string{"kubernetes.io/hostname": NodeName, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"},
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
		},
		Status: corev1.NodeStatus{
			Allocatable: nodeResources(),
			Capacity:    nodeResources(),
		},
	}
	_, err = client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		err = s.ensureNodeCapacity(ctx, client)
	}
	if err != nil {
		return fmt.Errorf("registering the sandbox node: %w", err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		n, err := client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("the sandbox node did not become Ready (kwok-controller log in %s): %w", s.LogDir(), err)
	}
	return nil
}

// nodeResources hold thousands of Knative Services, each with a pod or two
// (its revisions' while a rollout runs).
func nodeResources() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1000"),
		corev1.ResourceMemory: resource.MustParse("4000Gi"),
		corev1.ResourcePods:   resource.MustParse("3000"),
	}
}

// ensureNodeCapacity raises the capacity of a node registered by an earlier
// version of the sandbox.
func (s *Sandbox) ensureNodeCapacity(ctx context.Context, client kubernetes.Interface) error {
	node, err := client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
	if err != nil {
		return err
	}
	want := nodeResources()
	if node.Status.Capacity.Pods().Cmp(*want.Pods()) >= 0 {
		return nil
	}
	node.Status.Capacity, node.Status.Allocatable = want, want
	_, err = client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{})
	return err
}

// findToolsDir walks up from the working directory to this repository's tools/.
func findToolsDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(dir, "internal", "sandbox", "tools")
		if _, err := os.Stat(filepath.Join(candidate, "kube", "go.mod")); err == nil {
			return candidate, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find internal/sandbox/tools: run from inside the terraform-provider-knative repository or set Options.ToolsDir")
		}
		dir = parent
	}
}
