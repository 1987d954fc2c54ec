// Command controller runs Knative Serving's reconcilers as a local process.
//
// Upstream's cmd/controller serves health probes on the fixed port 8080, which
// the autoscaler's stats server also binds; a local process has no kubelet
// probing it, so this main disables the probes. The cert-manager integration is
// left out: the sandbox has no cert-manager.
package main

import (
	"flag"

	"knative.dev/pkg/injection"
	"knative.dev/pkg/injection/sharedmain"
	"knative.dev/pkg/reconciler"
	"knative.dev/pkg/signals"
	"knative.dev/serving/pkg/reconciler/configuration"
	"knative.dev/serving/pkg/reconciler/domainmapping"
	"knative.dev/serving/pkg/reconciler/gc"
	"knative.dev/serving/pkg/reconciler/labeler"
	"knative.dev/serving/pkg/reconciler/nscert"
	"knative.dev/serving/pkg/reconciler/revision"
	"knative.dev/serving/pkg/reconciler/route"
	"knative.dev/serving/pkg/reconciler/serverlessservice"
	"knative.dev/serving/pkg/reconciler/service"
)

func main() {
	flag.DurationVar(&reconciler.DefaultTimeout, "reconciliation-timeout", reconciler.DefaultTimeout,
		"How long each reconciliation of a resource may take before its context is canceled.")
	ctx := sharedmain.WithHealthProbesDisabled(signals.NewContext())
	cfg := injection.ParseAndGetRESTConfigOrDie()
	sharedmain.MainWithConfig(ctx, "controller", cfg,
		configuration.NewController,
		labeler.NewController,
		revision.NewController,
		route.NewController,
		serverlessservice.NewController,
		service.NewController,
		gc.NewController,
		nscert.NewController,
		domainmapping.NewController,
	)
}
