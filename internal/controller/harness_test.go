package controller_test

import (
	"context"
	"os"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// The Crossplane acceptance tests run the provider's controllers in-process
// against a control plane that is also the target cluster. They install and
// remove Knative Serving, so they need a cluster of their own beside the
// Terraform tests' (which run at the same time): the sandbox "crossplane",
// started fresh, when make test targets the sandbox; otherwise the cluster of
// KNATIVE_TEST_CROSSPLANE_KUBECONFIG (and KNATIVE_TEST_CROSSPLANE_CONTEXT).

const (
	controlPlaneSandbox = "crossplane"
	secondSandbox       = "crossplane-b"
	appNamespace        = "apps"
)

type env struct {
	*acctest.Crossplane
	cluster *acctest.Cluster
	test    *testing.T // the whole test's, whose end stops the controllers
}

// defaultOptions are the controllers' settings for the steps: quick polls,
// so drift is reverted within the tests' patience even where nothing
// watches (claims, Observe-only imports), and the target watches on.
var defaultOptions = acctest.CrossplaneOptions{
	Namespace:        appNamespace,
	PollInterval:     3 * time.Second,
	ReadyPoll:        500 * time.Millisecond,
	MaxReconcileRate: 10,
	WatchTargets:     true,
}

// restart stops the running controllers and starts them again with o.
func (e *env) restart(o acctest.CrossplaneOptions) {
	e.Stop()
	e.Crossplane = acctest.StartCrossplane(e.test, e.cluster, o)
}

func start(t *testing.T) *env {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make test does) to run it against a sandbox or KNATIVE_TEST_KUBECONFIG")
	}
	cluster := &acctest.Cluster{Kubeconfig: os.Getenv("KNATIVE_TEST_CROSSPLANE_KUBECONFIG"), Context: os.Getenv("KNATIVE_TEST_CROSSPLANE_CONTEXT")}
	switch {
	case cluster.Kubeconfig != "":
	case ownCluster():
		t.Skip("the Crossplane tests install and remove Knative Serving while the Terraform tests use KNATIVE_TEST_KUBECONFIG: " +
			"give them a cluster of their own with KNATIVE_TEST_CROSSPLANE_KUBECONFIG (and KNATIVE_TEST_CROSSPLANE_CONTEXT)")
	default:
		cluster = &acctest.Cluster{Kubeconfig: freshSandbox(t, controlPlaneSandbox, 30*time.Minute).Kubeconfig}
	}
	return &env{Crossplane: acctest.StartCrossplane(t, cluster, defaultOptions), cluster: cluster, test: t}
}

// freshSandbox starts the named sandbox anew: the steps assume a cluster
// without Knative and without what an earlier run left.
func freshSandbox(t *testing.T, name string, timeout time.Duration) *sandbox.Sandbox {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	opts := sandbox.Options{Name: name}
	if err := sandbox.Down(ctx, opts); err != nil {
		t.Fatalf("cannot stop the sandbox %q: %v", name, err)
	}
	s, err := sandbox.Up(ctx, opts)
	if err != nil {
		t.Fatalf("cannot start the sandbox %q: %v", name, err)
	}
	return s
}

// ownCluster reports whether the tests target a cluster of the user's rather
// than the local sandbox (make test TEST_KUBECONFIG=...).
func ownCluster() bool {
	return os.Getenv("KNATIVE_TEST_KUBECONFIG") != "" && os.Getenv("KNATIVE_TEST_SANDBOX") == ""
}

// knativeService is the Knative Service of that name in the apps namespace; nil when there is none.
func (e *env) knativeService(t *testing.T, name string) *unstructured.Unstructured {
	t.Helper()
	live, err := serving.Service.On(e.Clients).Get(context.Background(), appNamespace, name)
	if err != nil {
		t.Fatal(err)
	}
	return live
}
