package controller

import (
	"context"
	"net/http"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/controller"
	xpevent "github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/ratelimiter"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/providerconfig"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/source"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	pcv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// Defaults of the provider's flags. A reconcile of a Knative object that is
// in sync costs one GET on its cluster, so the provider allows more of them
// than crossplane-runtime's usual 10 per second: 50 (the target clients' rate
// follows it, defaultTargetRate).
//
// With the target watches Knative's verdict reaches a managed resource within
// moments (BenchmarkCrossplaneServices), so a managed resource whose object a
// working watch sees is not ready-polled at all, and the others at
// WatchedReadyPoll: a watch that is down, an Observe-only import, the runtime.
const (
	DefaultMaxReconcileRate = 50
	DefaultReadyPoll        = 2 * time.Second
	WatchedReadyPoll        = 30 * time.Second
)

// Options are the provider's settings beside crossplane-runtime's.
type Options struct {
	controller.Options
	// ReadyPoll is how often a managed resource that is not Ready yet is
	// observed (Knative decides readiness seconds after a write); once Ready,
	// PollInterval applies.
	ReadyPoll time.Duration
	// TargetTransport, when set, wraps every request to target clusters
	// (for metrics, tracing, or tests that count requests).
	TargetTransport func(http.RoundTripper) http.RoundTripper
	// WatchTargets watches the Knative objects, config maps and runtime
	// deployments the managed resources manage on their target clusters
	// (see targetWatches): drift is reverted and Knative's verdicts are
	// recorded within moments, whatever PollInterval is.
	WatchTargets bool
}

// defaultTargetRate is the rate of a target cluster's client when its
// provider config sets none: what crossplane-runtime gives the control plane's
// client for the same reconcile rate (ratelimiter.LimitRESTConfig: 5 requests
// per second per reconcile, 250 at the default 50). A reconcile is a GET, and
// a write when it converges: at a tenth of that, 200 Service MRs created at
// once queued Knative's Ready verdicts 25 s behind their creates
// (BenchmarkCrossplaneServices; 0.1 s at this rate).
func defaultTargetRate(maxReconcileRate int) (float32, int) {
	limited := ratelimiter.LimitRESTConfig(&rest.Config{}, max(maxReconcileRate, 1))
	return limited.QPS, limited.Burst
}

// Setup adds the controllers of every managed resource and of the provider
// configs to mgr. Managed resources reach their clusters through the provider
// configs; InjectedIdentity uses mgr's own REST config.
func Setup(mgr ctrl.Manager, o Options) error {
	warn := func(_ context.Context, text string) {
		if o.Logger != nil {
			o.Logger.Debug("The target cluster's API server warns", "warning", text)
		}
	}
	qps, burst := defaultTargetRate(o.MaxConcurrentReconciles)
	conn := newConnector(mgr.GetClient(), mgr.GetConfig(), &clientCache{clients: map[string]*kube.Clients{}, qps: qps, burst: burst, wrap: o.TargetTransport, warn: warn})
	if o.WatchTargets {
		// Every managed resource is observed at least once a poll interval
		// (and a sync period); one not observed for three is gone.
		conn.watches = newTargetWatches(o.Logger, 3*max(o.PollInterval, time.Minute))
	}
	// One channel per kind: the watches send the managed resources to reconcile.
	events := func() chan event.GenericEvent { return make(chan event.GenericEvent) }
	services, routes, mappings, configs, runtimes := events(), events(), events(), events(), events()
	for _, setup := range []func() error{
		func() error {
			return setupObject(mgr, o, conn, servingv1alpha1.ServiceGroupVersionKind, &servingv1alpha1.Service{}, serviceKind, services)
		},
		func() error {
			return setupObject(mgr, o, conn, servingv1alpha1.RouteGroupVersionKind, &servingv1alpha1.Route{}, routeKind, routes)
		},
		func() error {
			return setupObject(mgr, o, conn, servingv1alpha1.DomainMappingGroupVersionKind, &servingv1alpha1.DomainMapping{}, domainMappingKind, mappings)
		},
		func() error {
			return setupManaged(mgr, o, servingv1alpha1.ServingConfigGroupVersionKind, &servingv1alpha1.ServingConfig{}, configs, conn.watches,
				managed.WithTypedExternalConnector[*servingv1alpha1.ServingConfig](&servingConfigConnector{conn, configs}))
		},
		func() error {
			// Installing, upgrading or removing the runtime takes longer than
			// crossplane-runtime's default minute.
			return setupManaged(mgr, o, servingv1alpha1.ServingRuntimeGroupVersionKind, &servingv1alpha1.ServingRuntime{}, runtimes, conn.watches,
				managed.WithTypedExternalConnector[*servingv1alpha1.ServingRuntime](&servingRuntimeConnector{conn, o.Logger, runtimes}),
				managed.WithTimeout(10*time.Minute))
		},
		func() error {
			return setupProviderConfig(mgr, o, &pcv1alpha1.ProviderConfig{}, &pcv1alpha1.ProviderConfigUsage{}, resource.ProviderConfigKinds{
				Config: pcv1alpha1.ProviderConfigGroupVersionKind, Usage: pcv1alpha1.ProviderConfigUsageGroupVersionKind, UsageList: pcv1alpha1.ProviderConfigUsageListGroupVersionKind,
			})
		},
		func() error {
			return setupProviderConfig(mgr, o, &pcv1alpha1.ClusterProviderConfig{}, &pcv1alpha1.ClusterProviderConfigUsage{}, resource.ProviderConfigKinds{
				Config: pcv1alpha1.ClusterProviderConfigGroupVersionKind, Usage: pcv1alpha1.ClusterProviderConfigUsageGroupVersionKind, UsageList: pcv1alpha1.ClusterProviderConfigUsageListGroupVersionKind,
			})
		},
	} {
		if err := setup(); err != nil {
			return err
		}
	}
	return nil
}

// setupObject adds the reconciler of a managed resource kind whose
// forProvider is a Knative object (see objectKind).
func setupObject[M resource.ModernManaged](mgr ctrl.Manager, o Options, conn *connector, gvk schema.GroupVersionKind, of M, kind objectKind[M], events chan event.GenericEvent) error {
	record := xpevent.NewAPIRecorder(mgr.GetEventRecorderFor(managed.ControllerName(gvk.GroupKind().String()))) //nolint:staticcheck // crossplane-runtime's recorder takes the old events API
	return setupManaged(mgr, o, gvk, of, events, conn.watches, managed.WithTypedExternalConnector[M](&objectConnector[M]{connector: conn, kind: kind, record: record, events: events}))
}

// setupManaged adds crossplane-runtime's managed resource reconciler for one
// kind, with management policies (Observe-only import, Orphan), reconciling
// too the managed resources the target watches send on events.
func setupManaged(mgr ctrl.Manager, o Options, gvk schema.GroupVersionKind, of client.Object, events chan event.GenericEvent, watches *targetWatches, opts ...managed.ReconcilerOption) error {
	name := managed.ControllerName(gvk.GroupKind().String())
	readyPoll := o.ReadyPoll
	r := managed.NewReconciler(mgr, resource.ManagedKind(gvk), append([]managed.ReconcilerOption{
		managed.WithLogger(o.Logger.WithValues("controller", name)),
		managed.WithRecorder(xpevent.NewAPIRecorder(mgr.GetEventRecorderFor(name))), //nolint:staticcheck // crossplane-runtime's recorder takes the old events API
		managed.WithPollInterval(o.PollInterval),
		managed.WithPollIntervalHook(func(mg resource.Managed, poll time.Duration) time.Duration {
			now := time.Now()
			watched := watches.seen(managerOf(events, mg), now)
			return pollInterval(mg.GetCondition(xpv2.TypeReady), readyPoll, poll, watched, now)
		}),
		managed.WithManagementPolicies(),
	}, opts...)...)
	return ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(o.ForControllerRuntime()).
		WithEventFilter(resource.DesiredStateChanged()).
		For(of).
		WatchesRawSource(source.Channel(events, &handler.EnqueueRequestForObject{})).
		Complete(ratelimiter.NewReconciler(name, deletionWaits{Reconciler: r, watches: watches, events: events, poll: o.PollInterval}, o.GlobalRateLimiter))
}

// failureSettling is how long a managed resource that Knative has just
// declared not Ready is still observed at the ready poll. Knative's first
// verdict can be a moment's: a DomainMapping composed beside its Service
// fails to resolve it (ResolveFailed) until the Service exists, and Knative
// resolves it seconds later by itself.
const failureSettling = time.Minute

// pollInterval is when a managed resource with this Ready condition is
// observed next: at the ready poll while Knative has not decided (Creating,
// or no verdict yet) and for failureSettling after it said not Ready; else
// at the regular drift poll. A managed resource whose object a working watch
// sees (watched) needs no ready poll: Knative's verdict, a change of the
// object, reconciles it. Ready polls that ask about as many reconciles as
// the rate allows delay the verdicts behind them: 200 managed resources at a
// 3 s ready poll (what 2,000 ask at 30 s), p95 0.54 s with the polls and
// 0.19 s without (BenchmarkCrossplaneServices).
func pollInterval(ready xpv2.Condition, readyPoll, poll time.Duration, watched bool, now time.Time) time.Duration {
	if readyPoll <= 0 || watched {
		return poll
	}
	switch {
	case ready.Reason == xpv2.ReasonCreating || ready.Status == corev1.ConditionUnknown:
		return min(readyPoll, poll)
	case ready.Status == corev1.ConditionFalse && now.Sub(ready.LastTransitionTime.Time) < failureSettling:
		return min(readyPoll, poll)
	}
	return poll
}

// setupProviderConfig adds crossplane-runtime's reconciler that tracks the
// users of a provider config kind, so one in use is not deleted.
func setupProviderConfig(mgr ctrl.Manager, o Options, config, usage client.Object, kinds resource.ProviderConfigKinds) error {
	name := providerconfig.ControllerName(kinds.Config.GroupKind().String())
	r := providerconfig.NewReconciler(mgr, kinds,
		providerconfig.WithLogger(o.Logger.WithValues("controller", name)),
		providerconfig.WithRecorder(xpevent.NewAPIRecorder(mgr.GetEventRecorderFor(name)))) //nolint:staticcheck // crossplane-runtime's recorder takes the old events API
	return ctrl.NewControllerManagedBy(mgr).
		Named(name).
		WithOptions(o.ForControllerRuntime()).
		For(config).
		Watches(usage, &resource.EnqueueRequestForProviderConfig{Kind: kinds.Config.Kind}).
		Complete(ratelimiter.NewReconciler(name, r, o.GlobalRateLimiter))
}
