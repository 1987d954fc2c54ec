package controller

import (
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/tf-knative/terraform-provider-knative/crossplane/apis"
)

// TestSetupRegistersEveryController: Setup wires a reconciler for each
// managed resource kind and provider config kind into a manager, with and
// without the target watches, without a cluster (the acceptance tests start
// them against one).
func TestSetupRegistersEveryController(t *testing.T) {
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apis.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	for _, watch := range []bool{false, true} {
		// Each run of the test registers the controllers' names again in this process.
		mgr, err := ctrl.NewManager(&rest.Config{Host: "https://127.0.0.1:1"}, ctrl.Options{Scheme: scheme, Metrics: server.Options{BindAddress: "0"},
			Controller: ctrlconfig.Controller{SkipNameValidation: ptr(true)}})
		if err != nil {
			t.Fatal(err)
		}
		o := Options{Options: controller.Options{Logger: logging.NewNopLogger(), MaxConcurrentReconciles: 1, PollInterval: time.Minute}, ReadyPoll: DefaultReadyPoll, WatchTargets: watch}
		if err := Setup(mgr, o); err != nil {
			t.Fatalf("Setup (watches %v) = %v", watch, err)
		}
	}
}
