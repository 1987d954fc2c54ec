package acctest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	xpcontroller "github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	pkgv1 "github.com/crossplane/crossplane/apis/v2/pkg/v1"
	pkgv1beta1 "github.com/crossplane/crossplane/apis/v2/pkg/v1beta1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/yaml"

	"github.com/tf-knative/terraform-provider-knative/crossplane/apis"
	"github.com/tf-knative/terraform-provider-knative/internal/controller"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// Scheme knows Kubernetes' types, the Crossplane provider's and Crossplane's
// package manager's (Provider, Function, Configuration, DeploymentRuntimeConfig).
var Scheme = func() *kruntime.Scheme {
	s := kruntime.NewScheme()
	for _, add := range []func(*kruntime.Scheme) error{clientgoscheme.AddToScheme, apiextensionsv1.AddToScheme, apis.AddToScheme, pkgv1.AddToScheme, pkgv1beta1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}()

// Crossplane is a control plane with the Crossplane provider's CRDs and
// provider configs, and its controllers running in-process until the test
// ends. The control plane is also the first target cluster: the
// ClusterProviderConfig "default" is the controllers' own identity, and the
// ProviderConfig "target" in Namespace reads the same cluster's kubeconfig
// from a Secret.
type Crossplane struct {
	Cluster   *Cluster
	Namespace string
	Client    client.Client
	// Clients are admin clients of the target cluster.
	Clients *kube.Clients
	// Stop stops the controllers StartCrossplane runs (also at the test's end).
	Stop func()
}

// CrossplaneOptions tune the controllers.
type CrossplaneOptions struct {
	Namespace    string        // of the ProviderConfig "target" and the test's MRs
	PollInterval time.Duration // drift poll once Ready
	ReadyPoll    time.Duration // poll until Knative decides
	// MaxReconcileRate is the provider's --max-reconcile-rate (reconciles per
	// second, and concurrent reconciles per kind).
	MaxReconcileRate int
	// TargetTransport, when set, wraps the requests to target clusters.
	TargetTransport func(http.RoundTripper) http.RoundTripper
	// WatchTargets is the provider's --watch-targets.
	WatchTargets bool
	// QuietLogs leaves the controllers' debug lines out of the test's log
	// (the benchmarks: thousands of formatted lines are CPU they would count).
	QuietLogs bool
}

// ConnectCrossplane is a client of the control plane c, with the namespace
// made; nothing else is installed or run (Crossplane's package manager
// installs the provider's CRDs in the tests that install its package).
func ConnectCrossplane(t testing.TB, c *Cluster, namespace string) *Crossplane {
	t.Helper()
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	x := &Crossplane{Cluster: c, Namespace: namespace, Clients: c.Clients(t)}
	if x.Client, err = client.New(cfg, client.Options{Scheme: Scheme}); err != nil {
		t.Fatal(err)
	}
	x.Apply(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})
	return x
}

// DefaultProviderConfig applies the ClusterProviderConfig "default": the
// provider's own identity.
func (x *Crossplane) DefaultProviderConfig(t testing.TB) {
	t.Helper()
	x.ApplyYAML(t, `
apiVersion: knative.m.crossplane.io/v1alpha1
kind: ClusterProviderConfig
metadata: {name: default}
spec:
  credentials: {source: InjectedIdentity}
`)
}

// StartCrossplane prepares the control plane c (the provider's CRDs applied
// from crossplane/package/crds) and runs the controllers in-process.
func StartCrossplane(t testing.TB, c *Cluster, o CrossplaneOptions) *Crossplane {
	t.Helper()
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	x := ConnectCrossplane(t, c, o.Namespace)
	x.installCRDs(t)
	x.KubeconfigSecret(t, "target-kubeconfig", c)
	x.DefaultProviderConfig(t)
	target := fmt.Sprintf(`
apiVersion: knative.m.crossplane.io/v1alpha1
kind: ProviderConfig
metadata: {name: target, namespace: %s}
spec:
  credentials:
    source: Secret
    secretRef: {name: target-kubeconfig, key: kubeconfig}
`, o.Namespace)
	if c.Context != "" {
		target += fmt.Sprintf("  context: %s\n", c.Context)
	}
	x.ApplyYAML(t, target)

	// The controllers' debug log goes to the test's log, which go test
	// shows for a failing test.
	logger := zap.New(zap.WriteTo(testWriter{t}), zap.UseDevMode(!o.QuietLogs))
	ctrl.SetLogger(logger)
	mgr, err := ctrl.NewManager(ratelimiter.LimitRESTConfig(cfg, o.MaxReconcileRate), ctrl.Options{
		Scheme:                 Scheme,
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Logger:                 logger,
		// Each test that runs the controllers starts a manager of its own in
		// the same process; controller-runtime refuses repeated names by default.
		Controller: ctrlconfig.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = controller.Setup(mgr, controller.Options{
		Options: xpcontroller.Options{
			Logger:                  logging.NewLogrLogger(logger),
			MaxConcurrentReconciles: o.MaxReconcileRate,
			PollInterval:            o.PollInterval,
			GlobalRateLimiter:       ratelimiter.NewGlobal(o.MaxReconcileRate),
			Features:                &feature.Flags{},
		},
		ReadyPoll:       o.ReadyPoll,
		TargetTransport: o.TargetTransport,
		WatchTargets:    o.WatchTargets,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	var once sync.Once
	x.Stop = func() {
		once.Do(func() {
			stop()
			if err := <-done; err != nil {
				t.Errorf("the controller manager stopped with: %v", err)
			}
		})
	}
	t.Cleanup(x.Stop)
	return x
}

// KubeconfigSecret writes the kubeconfig of cluster into the Secret name
// (key kubeconfig) of the Crossplane namespace, for a ProviderConfig.
func (x *Crossplane) KubeconfigSecret(t testing.TB, name string, cluster *Cluster) {
	t.Helper()
	kubeconfig, err := os.ReadFile(cluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	x.ApplyYAML(t, fmt.Sprintf(`
apiVersion: v1
kind: Secret
metadata: {name: %s, namespace: %s}
stringData:
  kubeconfig: %q
`, name, x.Namespace, kubeconfig))
}

// testWriter writes to the test's log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// installCRDs applies the provider's generated CRDs and waits until they are
// served.
func (x *Crossplane) installCRDs(t testing.TB) {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	files, err := filepath.Glob(filepath.Join(filepath.Dir(file), "../../crossplane/package/crds/*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in crossplane/package/crds: %v", err)
	}
	ctx := context.Background()
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.Unmarshal(data, crd); err != nil {
			t.Fatal(err)
		}
		x.Apply(t, crd)
		Eventually(t, time.Minute, "CRD "+crd.Name+" established", func() (bool, string) {
			got := &apiextensionsv1.CustomResourceDefinition{}
			if err := x.Client.Get(ctx, client.ObjectKey{Name: crd.Name}, got); err != nil {
				return false, err.Error()
			}
			for _, cond := range got.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return true, ""
				}
			}
			return false, "not established"
		})
	}
}

// Apply server-side applies a typed object as the tests' own field manager.
func (x *Crossplane) Apply(t testing.TB, obj client.Object) {
	t.Helper()
	gvks, _, err := Scheme.ObjectKinds(obj)
	if err != nil {
		t.Fatal(err)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvks[0])
	obj.SetManagedFields(nil)
	obj.SetResourceVersion("")
	if err := x.Client.Patch(context.Background(), obj, client.Apply, client.FieldOwner("crossplane-acctest"), client.ForceOwnership); err != nil {
		t.Fatalf("applying %s %s: %v", gvks[0].Kind, obj.GetName(), err)
	}
}

// ApplyYAML applies an object written as YAML exactly as written, as kubectl
// would (a typed object would also send the zero values of every field it
// has). It is decoded strictly into its typed form first, so a misspelled
// field fails the test, and that form is returned.
func (x *Crossplane) ApplyYAML(t testing.TB, manifest string) client.Object {
	t.Helper()
	obj := Decode(t, manifest)
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &u.Object); err != nil {
		t.Fatal(err)
	}
	if err := x.Client.Patch(context.Background(), u, client.Apply, client.FieldOwner("crossplane-acctest"), client.ForceOwnership); err != nil {
		t.Fatalf("applying %s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return obj
}

// Decode reads one YAML object strictly into its typed form.
func Decode(t testing.TB, manifest string) client.Object {
	t.Helper()
	var meta metav1.TypeMeta
	if err := yaml.Unmarshal([]byte(manifest), &meta); err != nil {
		t.Fatal(err)
	}
	obj, err := Scheme.New(meta.GroupVersionKind())
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict([]byte(manifest), obj); err != nil {
		t.Fatalf("%v in\n%s", err, manifest)
	}
	return obj.(client.Object)
}

// Eventually polls check until it holds, failing with check's last words.
func Eventually(t testing.TB, timeout time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	EventuallyEvery(t, timeout, 250*time.Millisecond, what, check)
}

// EventuallyEvery is Eventually checking every interval: for checks that
// cost the cluster more than a read.
func EventuallyEvery(t testing.TB, timeout, interval time.Duration, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		ok, why := check()
		if ok {
			return
		}
		last = why
		time.Sleep(interval)
	}
	t.Fatalf("waited %s for %s: %s", timeout, what, last)
}

// WaitCondition waits until the managed resource's condition has status and
// its message contains message.
func (x *Crossplane) WaitCondition(t testing.TB, mg resource.Managed, condition xpv2.ConditionType, status corev1.ConditionStatus, message string, timeout time.Duration) {
	t.Helper()
	Eventually(t, timeout, fmt.Sprintf("%s %s: %s=%s %q", mg.GetObjectKind().GroupVersionKind().Kind, mg.GetName(), condition, status, message), func() (bool, string) {
		if err := x.Client.Get(context.Background(), client.ObjectKeyFromObject(mg), mg); err != nil {
			return false, err.Error()
		}
		c := mg.GetCondition(condition)
		return c.Status == status && strings.Contains(c.Message, message), fmt.Sprintf("%s=%s %s: %s (Synced: %s)", condition, c.Status, c.Reason, c.Message, mg.GetCondition(xpv2.TypeSynced).Message)
	})
}

// DeleteAndWait deletes an object and waits until it is gone.
func (x *Crossplane) DeleteAndWait(t testing.TB, obj client.Object) {
	t.Helper()
	ctx := context.Background()
	if err := x.Client.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	Eventually(t, 3*time.Minute, obj.GetName()+" deleted", func() (bool, string) {
		err := x.Client.Get(ctx, client.ObjectKeyFromObject(obj), obj)
		if apierrors.IsNotFound(err) {
			return true, ""
		}
		if m, ok := obj.(resource.Managed); ok {
			return false, fmt.Sprintf("still there: Synced %s", m.GetCondition(xpv2.TypeSynced).Message)
		}
		return false, "still there"
	})
}
