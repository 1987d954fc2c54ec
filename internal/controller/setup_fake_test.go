package controller

import (
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/tf-knative/terraform-provider-knative/crossplane/apis"
)

// TestSetupRegistersEveryController: Setup wires a reconciler for each
// managed resource kind and provider config kind into a manager, without a
// cluster (the acceptance tests start them against one).
func TestSetupRegistersEveryController(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apis.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	mgr, err := ctrl.NewManager(&rest.Config{Host: "https://127.0.0.1:1"}, ctrl.Options{Scheme: scheme, Metrics: server.Options{BindAddress: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := Setup(mgr, Options{Options: controller.Options{Logger: logging.NewNopLogger(), MaxConcurrentReconciles: 1, PollInterval: DefaultReadyPoll}, ReadyPoll: DefaultReadyPoll}); err != nil {
		t.Fatalf("Setup = %v", err)
	}
	// A second Setup on the same manager collides on the controllers' names.
	if err := Setup(mgr, Options{Options: controller.Options{Logger: logging.NewNopLogger(), MaxConcurrentReconciles: 1}}); err == nil {
		t.Error("a second Setup registered the same controllers again")
	}
}
