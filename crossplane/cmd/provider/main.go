// Command provider is the Crossplane provider for Knative Serving. It runs in
// a pod of a Crossplane control plane, or out of cluster against one:
//
//	provider --kubeconfig ~/.kube/config
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	"github.com/crossplane/crossplane-runtime/v2/pkg/feature"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/tf-knative/terraform-provider-knative/crossplane/apis"
	knative "github.com/tf-knative/terraform-provider-knative/internal/controller"
)

func main() {
	// A flag set of its own: controller-runtime registers -kubeconfig on the
	// default one.
	flags := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	var (
		kubeconfig     = flags.String("kubeconfig", "", "Kubeconfig of the Crossplane control plane; default in-cluster, then $KUBECONFIG.")
		debug          = flags.Bool("debug", false, "Log debug messages.")
		leaderElection = flags.Bool("leader-election", false, "Use leader election, for more than one replica.")
		poll           = flags.Duration("poll", time.Minute, "How often each managed resource is checked for drift once Ready.")
		readyPoll      = flags.Duration("ready-poll", knative.DefaultReadyPoll, "How often a managed resource that Knative has not decided on yet is observed (with --watch-targets, unless set: "+knative.WatchedReadyPoll.String()+", and only where no working watch sees its object to bring Knative's verdict).")
		sync           = flags.Duration("sync", time.Hour, "How often every managed resource is reconciled even without a change.")
		maxReconcile   = flags.Int("max-reconcile-rate", knative.DefaultMaxReconcileRate, "Reconciles per second at most, over all managed resources (and concurrent reconciles per kind).")
		watchTargets   = flags.Bool("watch-targets", true, "Watch what the managed resources manage on their target clusters (one informer per cluster and kind, limited to this provider's objects), so drift and Knative's verdicts are seen within moments; with false only the polls see them.")
		metricsAddr    = flags.String("metrics-bind-address", "0", "Address of the metrics endpoint; 0 disables it.")
	)
	_ = flags.Parse(os.Args[1:])

	zl := zap.New(zap.UseDevMode(*debug))
	ctrl.SetLogger(zl)
	log := logging.NewLogrLogger(zl.WithName("provider-knative"))

	cfg, err := restConfig(*kubeconfig)
	fatal(err, "cannot reach the control plane")
	mgr, err := ctrl.NewManager(ratelimiter.LimitRESTConfig(cfg, *maxReconcile), ctrl.Options{
		Cache:                      cache.Options{SyncPeriod: sync},
		Metrics:                    metricsserver.Options{BindAddress: *metricsAddr},
		HealthProbeBindAddress:     "0",
		LeaderElection:             *leaderElection,
		LeaderElectionID:           "crossplane-leader-election-provider-knative",
		LeaderElectionResourceLock: resourcelock.LeasesResourceLock,
	})
	fatal(err, "cannot create the controller manager")
	fatal(apis.AddToScheme(mgr.GetScheme()), "cannot add the provider's APIs to the scheme")

	o := knative.Options{
		Options: controller.Options{
			Logger:                  log,
			MaxConcurrentReconciles: *maxReconcile,
			PollInterval:            *poll,
			GlobalRateLimiter:       ratelimiter.NewGlobal(*maxReconcile),
			Features:                &feature.Flags{},
		},
		ReadyPoll:    readyPollOf(flags, *readyPoll, *watchTargets),
		WatchTargets: *watchTargets,
	}
	fatal(knative.Setup(mgr, o), "cannot set up the controllers")
	fatal(mgr.Start(ctrl.SetupSignalHandler()), "the controller manager stopped")
}

// readyPollOf is the ready poll: the one the command line sets, else the
// default, or with the target watches the fallback's.
func readyPollOf(flags *flag.FlagSet, readyPoll time.Duration, watchTargets bool) time.Duration {
	set := false
	flags.Visit(func(f *flag.Flag) { set = set || f.Name == "ready-poll" })
	if watchTargets && !set {
		return knative.WatchedReadyPoll
	}
	return readyPoll
}

// restConfig is the control plane's REST config: the kubeconfig named, else
// in-cluster, else $KUBECONFIG.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		return clientcmd.BuildConfigFromFlags("", kubeconfig)
	}
	if cfg, err := rest.InClusterConfig(); err == nil {
		return cfg, nil
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), nil).ClientConfig()
}

func fatal(err error, msg string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", msg, err)
		os.Exit(1)
	}
}
