// Package acctest is the acceptance test harness: it finds the cluster the
// tests run against and serves the provider to Terraform in-process.
//
// The target is the cluster of KNATIVE_TEST_KUBECONFIG (optionally with
// KNATIVE_TEST_CONTEXT): kind, a cloud cluster, anything. When it is unset, the
// harness starts (or reuses) the local sandbox named "test".
package acctest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
	"github.com/tf-knative/terraform-provider-knative/provider"
)

// SandboxName is the sandbox the tests start when no cluster is given.
const SandboxName = "test"

// ProtoV6ProviderFactories serves the provider in-process for terraform-plugin-testing.
var ProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"knative": func() (tfprotov6.ProviderServer, error) { return provider.NewServer("test")(), nil },
}

// Cluster is the test target.
type Cluster struct {
	Kubeconfig string
	Context    string // empty: the kubeconfig's current context
}

var (
	clusterOnce sync.Once
	cluster     *Cluster
	clusterErr  error
)

// PreCheck skips acceptance tests unless TF_ACC is set, saying so, and returns
// the cluster to test against, starting the sandbox if needed.
func PreCheck(t testing.TB) *Cluster {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make test does) to run it against a sandbox or KNATIVE_TEST_KUBECONFIG")
	}
	if v := ServingVersion(); !manifests.Supported(v) {
		t.Fatalf("KNATIVE_TEST_SERVING_VERSION=%s is not a version the provider installs (%v)", v, manifests.Versions())
	}
	clusterOnce.Do(func() {
		if path := os.Getenv("KNATIVE_TEST_KUBECONFIG"); path != "" {
			cluster = &Cluster{Kubeconfig: path, Context: os.Getenv("KNATIVE_TEST_CONTEXT")}
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Minute)
		defer cancel()
		s, err := sandbox.Up(ctx, sandbox.Options{Name: SandboxName})
		if err != nil {
			clusterErr = err
			return
		}
		cluster = &Cluster{Kubeconfig: s.Kubeconfig}
	})
	if clusterErr != nil {
		t.Fatalf("cannot start the test sandbox: %v", clusterErr)
	}
	return cluster
}

// ProviderBlock is a provider configuration for the test cluster's kubeconfig.
func (c *Cluster) ProviderBlock() string {
	if c.Context == "" {
		return fmt.Sprintf("provider \"knative\" {\n  config_path = %q\n}\n", c.Kubeconfig)
	}
	return fmt.Sprintf("provider \"knative\" {\n  config_path    = %q\n  config_context = %q\n}\n", c.Kubeconfig, c.Context)
}

// RawConfig is the parsed kubeconfig with file references inlined.
func (c *Cluster) RawConfig(t testing.TB) (clientcmdapi.Config, *clientcmdapi.Cluster, *clientcmdapi.AuthInfo) {
	t.Helper()
	raw, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := clientcmdapi.FlattenConfig(raw); err != nil {
		t.Fatal(err)
	}
	name := c.Context
	if name == "" {
		name = raw.CurrentContext
	}
	kctx, ok := raw.Contexts[name]
	if !ok {
		t.Fatalf("context %q not in %s", name, c.Kubeconfig)
	}
	return *raw, raw.Clusters[kctx.Cluster], raw.AuthInfos[kctx.AuthInfo]
}

// Clients are admin clients for test setup and for checking what the provider did.
func (c *Cluster) Clients(t testing.TB) *kube.Clients {
	t.Helper()
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	clients, err := kube.ClientsFor(cfg, "acctest")
	if err != nil {
		t.Fatal(err)
	}
	return clients
}

// RESTConfig is the admin REST config of the test cluster.
func (c *Cluster) RESTConfig() (*rest.Config, error) {
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: c.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: c.Context}).ClientConfig()
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// Kubectl is the path of the kubectl the sandbox builds (same Kubernetes version).
func Kubectl(t testing.TB) string {
	t.Helper()
	opts := sandbox.Options{}
	if err := opts.Complete(); err != nil {
		t.Fatal(err)
	}
	bins, err := (&sandbox.Builder{ToolsDir: opts.ToolsDir, CacheDir: opts.CacheDir, Log: io.Discard}).BuildCluster(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return bins.Kubectl
}

// CountRequests makes every client built from cfg count its requests in n,
// for benchmarks that report requests per operation.
func CountRequests(cfg *rest.Config, n *atomic.Int64) {
	cfg.Wrap(Counting(func(*http.Request) { n.Add(1) }))
}

// Counting wraps a transport so that count hears every request it sends.
func Counting(count func(*http.Request)) func(http.RoundTripper) http.RoundTripper {
	return func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) { count(r); return rt.RoundTrip(r) })
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// RunKubectl runs the sandbox's kubectl against the test cluster and fails
// the test when it fails.
func (c *Cluster) RunKubectl(t testing.TB, kubectl string, args ...string) {
	t.Helper()
	if out, err := c.KubectlCommand(kubectl, args...).CombinedOutput(); err != nil {
		t.Fatalf("kubectl %v: %v\n%s", args, err, out)
	}
}

// KubectlCommand is kubectl with args against the test cluster.
func (c *Cluster) KubectlCommand(kubectl string, args ...string) *exec.Cmd {
	args = append([]string{"--kubeconfig", c.Kubeconfig}, args...)
	if c.Context != "" {
		args = append([]string{"--context", c.Context}, args...)
	}
	return exec.Command(kubectl, args...)
}

// ExecPluginEnv, when set in a test binary's environment, makes RunExecPlugin
// act as a client-go credential plugin that prints this token.
const ExecPluginEnv = "KNATIVE_TEST_EXEC_TOKEN"

// RunExecPlugin must be called first in TestMain: when the test binary is run
// as an exec credential plugin, it prints an ExecCredential and exits.
func RunExecPlugin() {
	token := os.Getenv(ExecPluginEnv)
	if token == "" {
		return
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{
		"apiVersion": "client.authentication.k8s.io/v1",
		"kind":       "ExecCredential",
		"status":     map[string]any{"token": token},
	})
	os.Exit(0)
}

// ServingVersion is the Knative Serving version the tests install where they
// do not test versions themselves: KNATIVE_TEST_SERVING_VERSION (the kind
// workflow runs the suite once per supported minor), by default the
// provider's default.
func ServingVersion() string {
	if v := os.Getenv("KNATIVE_TEST_SERVING_VERSION"); v != "" {
		return v
	}
	return manifests.DefaultVersion
}

// OnSandbox reports whether the tests target the local sandbox (the default,
// or KNATIVE_TEST_KUBECONFIG with KNATIVE_TEST_SANDBOX set, as make test does).
func OnSandbox() bool {
	return os.Getenv("KNATIVE_TEST_KUBECONFIG") == "" || os.Getenv("KNATIVE_TEST_SANDBOX") != ""
}

// Sandbox is the local sandbox the cluster is, for tests that stop its
// components; on any other cluster the test is skipped, saying so.
func (c *Cluster) Sandbox(t testing.TB) *sandbox.Sandbox {
	t.Helper()
	if !OnSandbox() {
		t.Skip("this test stops Knative's components, which only the local sandbox lets a test do: it runs when make test targets the sandbox")
	}
	dir := filepath.Dir(c.Kubeconfig)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	s, err := sandbox.Up(ctx, sandbox.Options{Name: filepath.Base(dir), CacheDir: filepath.Dir(filepath.Dir(dir))})
	if err != nil {
		t.Fatalf("the test cluster is not a sandbox: %v", err)
	}
	return s
}

// Extended skips an acceptance test that re-checks, against a cluster,
// branches the fast tier (go test -short, on kubetest's fakes) already
// covers, unless KNATIVE_TEST_EXTENDED=1 (make test-all). Every end-to-end
// behaviour keeps at least one acceptance test in make test.
func Extended(t testing.TB, coveredBy string) {
	t.Helper()
	if os.Getenv("KNATIVE_TEST_EXTENDED") != "1" {
		t.Skipf("extended acceptance test: its branches are covered by %s; run it with make test-all (KNATIVE_TEST_EXTENDED=1)", coveredBy)
	}
}

// The runtime's settings on the test target, for clusters whose nodes pull
// only from a mirror and that bring their own networking layer (the offline
// kind cluster: make test-kind sets them from `go run ./internal/cmd/kind env`):
//
//	KNATIVE_TEST_REGISTRY          knative_serving's registry.default template
//	KNATIVE_TEST_INGRESS_CLASS     an external networking layer's ingress class
//	KNATIVE_TEST_INGRESS_SERVICES  its proxy Services, namespace/name, comma-separated
//	KNATIVE_TEST_INGRESS_URL       where that layer's public entrypoint answers, for curl
//
// Unset, the tests install Knative's own images with Kourier.

// Registry is the registry.default template the tests install Knative with, or "".
func Registry() string { return os.Getenv("KNATIVE_TEST_REGISTRY") }

// Ingress is the networking layer the tests install: "kourier", or
// "external" with KNATIVE_TEST_INGRESS_CLASS.
func Ingress() string {
	if IngressClass() != "kourier.ingress.networking.knative.dev" {
		return "external"
	}
	return "kourier"
}

// IngressClass is config-network's ingress-class the tests expect.
func IngressClass() string {
	if class := os.Getenv("KNATIVE_TEST_INGRESS_CLASS"); class != "" {
		return class
	}
	return "kourier.ingress.networking.knative.dev"
}

// IngressURL is the external layer's public entrypoint, or "" when the test
// runner cannot reach the cluster's ingress.
func IngressURL() string { return os.Getenv("KNATIVE_TEST_INGRESS_URL") }

// ServingAttributes are the knative_serving arguments the test target needs
// beyond a test's own: the mirror and the networking layer, when set.
func ServingAttributes() string {
	var b strings.Builder
	if r := Registry(); r != "" {
		fmt.Fprintf(&b, "  registry = { default = %q }\n", strings.ReplaceAll(r, "${", "$${"))
	}
	if spec := ServingSpec(); spec.Ingress == serving.External {
		var services []string
		for _, s := range spec.External.Services {
			services = append(services, strconv.Quote(s))
		}
		fmt.Fprintf(&b, "  ingress = \"external\"\n  external_ingress = {\n    class    = %q\n    services = [%s]\n  }\n",
			IngressClass(), strings.Join(services, ", "))
	}
	return b.String()
}

// ServingSpec is the runtime the tests and benchmarks install through the
// engine on the test target: ServingAttributes' settings as a spec.
func ServingSpec() serving.Spec {
	spec := serving.Spec{Version: ServingVersion(), Ingress: Ingress(), Registry: serving.Registry{Default: Registry()}}
	if spec.Ingress == serving.External {
		spec.External.Class = IngressClass()
		for _, s := range strings.Split(os.Getenv("KNATIVE_TEST_INGRESS_SERVICES"), ",") {
			if s = strings.TrimSpace(s); s != "" {
				spec.External.Services = append(spec.External.Services, s)
			}
		}
	}
	return spec
}
