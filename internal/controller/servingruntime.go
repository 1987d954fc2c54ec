package controller

import (
	"context"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"sigs.k8s.io/controller-runtime/pkg/event"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

// servingRuntimeConnector connects ServingRuntimes to the engine's Installer.
type servingRuntimeConnector struct {
	*connector
	log    logging.Logger
	events chan<- event.GenericEvent
}

func (c *servingRuntimeConnector) Connect(ctx context.Context, mg *servingv1alpha1.ServingRuntime) (managed.TypedExternalClient[*servingv1alpha1.ServingRuntime], error) {
	clients, err := c.connect(ctx, mg)
	if err != nil {
		return nil, err
	}
	log := c.log.WithValues("servingruntime", mg.GetName())
	return &servingRuntimeExternal{installer: &serving.Installer{Clients: clients, Progress: func(msg string) { log.Debug(msg) }},
		watches: c.watches, events: c.events}, nil
}

// servingRuntimeExternal installs, repairs, upgrades and removes Knative
// Serving, as knative_serving does.
type servingRuntimeExternal struct {
	installer *serving.Installer
	watches   *targetWatches
	events    chan<- event.GenericEvent
}

// runtimeWatch is the watch of the runtime's Deployments (in every namespace
// a layer uses), by the label of Knative's release: a rollout, a Deployment
// scaled or edited reconciles the ServingRuntimes of that cluster.
func (e *servingRuntimeExternal) runtimeWatch() watchKey {
	return watchKey{clients: e.installer.Clients, gvr: serving.DeploymentsGVR, selector: serving.ReleaseSelector}
}

func runtimeSpec(mg *servingv1alpha1.ServingRuntime) serving.Spec {
	p := mg.Spec.ForProvider
	spec := serving.Spec{Version: p.Version, Ingress: p.Ingress}.WithDefaults()
	if p.HighAvailability != nil {
		spec.Replicas = int(p.HighAvailability.Replicas)
	}
	if p.Registry != nil {
		spec.Registry = serving.Registry{Default: p.Registry.Default, Override: p.Registry.Override}
	}
	if p.ExternalIngress != nil {
		spec.External = serving.ExternalIngress{Class: p.ExternalIngress.Class, Services: p.ExternalIngress.Services}
	}
	return spec
}

// Observe compares the installation with the release of the wanted version:
// up to date when that version is installed and nothing drifted; Ready when
// every deployment is available.
func (e *servingRuntimeExternal) Observe(ctx context.Context, mg *servingv1alpha1.ServingRuntime) (managed.ExternalObservation, error) {
	spec := runtimeSpec(mg)
	obs, err := e.installer.Observe(ctx, spec)
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrap(err, "cannot read the Knative Serving installation")
	}
	// The runtime's readiness also waits on what is not watched (the
	// webhook's CA bundle, CRDs established): the ready poll stays.
	e.watches.observed(e.runtimeWatch(), "", e.events, mg, obs.Found, false)
	if !obs.Found {
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	at := servingv1alpha1.ServingRuntimeObservation{InstalledVersion: obs.Version, IngressClass: spec.IngressClass(), Drift: obs.Drift}
	var pending []string
	for _, c := range obs.Components {
		at.Components = append(at.Components, servingv1alpha1.Component{Name: c.Name, Namespace: c.Namespace, Ready: c.Ready, Message: c.Message})
		if !c.Ready {
			pending = append(pending, c.Namespace+"/"+c.Name+": "+c.Message)
		}
	}
	mg.Status.AtProvider = at
	switch {
	case meta.WasDeleted(mg):
		mg.SetConditions(xpv2.Deleting())
	case len(pending) > 0:
		mg.SetConditions(xpv2.Creating().WithMessage("waiting for " + strings.Join(pending, "; ")))
	default:
		mg.SetConditions(xpv2.Available())
	}
	upToDate := obs.Version == spec.Version && len(obs.Drift) == 0
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: upToDate, Diff: strings.Join(obs.Drift, "; ")}, nil
}

func (e *servingRuntimeExternal) Create(ctx context.Context, mg *servingv1alpha1.ServingRuntime) (managed.ExternalCreation, error) {
	mg.SetConditions(xpv2.Creating())
	return managed.ExternalCreation{}, errors.Wrap(e.installer.Apply(ctx, runtimeSpec(mg), nil, false), "cannot install Knative Serving")
}

// Update repairs drift or upgrades, one minor version at a time.
func (e *servingRuntimeExternal) Update(ctx context.Context, mg *servingv1alpha1.ServingRuntime) (managed.ExternalUpdate, error) {
	spec := runtimeSpec(mg)
	previous := spec
	if installed := mg.Status.AtProvider.InstalledVersion; manifests.Supported(installed) {
		if refusal := serving.UpgradeRefusal(installed, spec.Version); refusal != "" {
			return managed.ExternalUpdate{}, errors.New(refusal)
		}
		previous.Version = installed
	}
	return managed.ExternalUpdate{}, errors.Wrap(e.installer.Apply(ctx, spec, &previous, false), "cannot apply Knative Serving")
}

// Delete removes the runtime; while Knative Services, Routes or
// DomainMappings exist it refuses, naming them, unless deleteKnativeObjects.
func (e *servingRuntimeExternal) Delete(ctx context.Context, mg *servingv1alpha1.ServingRuntime) (managed.ExternalDelete, error) {
	mg.SetConditions(xpv2.Deleting())
	err := e.installer.Remove(ctx, runtimeSpec(mg), mg.Spec.ForProvider.DeleteKnativeObjects)
	var workloads *serving.ErrWorkloadsExist
	if errors.As(err, &workloads) {
		return managed.ExternalDelete{}, errors.New(err.Error() + "\nDelete them first (or the managed resources that manage them), " +
			"or set spec.forProvider.deleteKnativeObjects to true to delete them with the runtime.")
	}
	return managed.ExternalDelete{}, errors.Wrap(err, "cannot remove Knative Serving")
}

func (e *servingRuntimeExternal) Disconnect(context.Context) error { return nil }
