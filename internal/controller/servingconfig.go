package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"sigs.k8s.io/controller-runtime/pkg/event"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// servingConfigConnector connects ServingConfigs to the engine's Config.
type servingConfigConnector struct {
	*connector
	events chan<- event.GenericEvent
}

func (c *servingConfigConnector) Connect(ctx context.Context, mg *servingv1alpha1.ServingConfig) (managed.TypedExternalClient[*servingv1alpha1.ServingConfig], error) {
	clients, err := c.connect(ctx, mg)
	if err != nil {
		return nil, err
	}
	return &servingConfigExternal{config: &serving.Config{Clients: clients, Name: mg.Spec.ForProvider.Name}, watches: c.watches, events: c.events}, nil
}

// servingConfigExternal owns the keys forProvider.data sets in one config
// map, with a field manager per map, as knative_serving_config does.
type servingConfigExternal struct {
	config  *serving.Config
	watches *targetWatches
	events  chan<- event.GenericEvent
}

// Observe: the keys exist when this manager owns any; they are up to date
// when every key has its value and no other key is still owned.
func (e *servingConfigExternal) Observe(ctx context.Context, mg *servingv1alpha1.ServingConfig) (managed.ExternalObservation, error) {
	obs, err := e.config.Observe(ctx)
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrapf(err, "cannot read %s/%s", serving.Namespace, e.config.ConfigMapName())
	}
	// The runtime's config maps, in its namespace: a change to a key
	// (kubectl edit) reconciles the ServingConfig of that map at once.
	key := watchKey{clients: e.config.Clients, gvr: serving.ConfigMapsGVR, namespace: serving.Namespace}
	e.watches.observed(key, serving.Namespace+"/"+e.config.ConfigMapName(), e.events, mg, len(obs.Owned) > 0, false)
	want := mg.Spec.ForProvider.Data
	mg.Status.AtProvider.Data = map[string]string{}
	for k := range want {
		if v, ok := obs.Data[k]; ok {
			mg.Status.AtProvider.Data[k] = v
		}
	}
	// Another writer can take every key this manager set (kubectl apply
	// --force-conflicts, kubectl edit): once created, that is drift the
	// update takes back, not a missing resource to create again.
	created := !meta.GetExternalCreateSucceeded(mg).IsZero()
	if meta.WasDeleted(mg) || len(obs.Owned) == 0 && !created {
		return managed.ExternalObservation{ResourceExists: len(obs.Owned) > 0}, nil
	}
	var drift []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if v, ok := obs.Data[k]; !ok || v != want[k] || !obs.Owned[k] {
			drift = append(drift, fmt.Sprintf("%s is %q, want %q", k, v, want[k]))
		}
	}
	for k := range obs.Owned {
		if _, ok := want[k]; !ok {
			drift = append(drift, k+" is set, want it removed")
		}
	}
	sort.Strings(drift)
	mg.SetConditions(xpv2.Available())
	return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: len(drift) == 0, Diff: strings.Join(drift, "; ")}, nil
}

func (e *servingConfigExternal) Create(ctx context.Context, mg *servingv1alpha1.ServingConfig) (managed.ExternalCreation, error) {
	return managed.ExternalCreation{}, e.apply(ctx, mg, nil)
}

func (e *servingConfigExternal) Update(ctx context.Context, mg *servingv1alpha1.ServingConfig) (managed.ExternalUpdate, error) {
	// Keys this resource manages already are taken back from whoever changed them.
	reclaim := map[string]bool{}
	for k := range mg.Spec.ForProvider.Data {
		reclaim[k] = true
	}
	return managed.ExternalUpdate{}, e.apply(ctx, mg, reclaim)
}

// apply validates the keys with Knative's own parser of the map, then sets
// them. A key another writer owns is a conflict unless it is in reclaim.
func (e *servingConfigExternal) apply(ctx context.Context, mg *servingv1alpha1.ServingConfig, reclaim map[string]bool) error {
	data := mg.Spec.ForProvider.Data
	if _, ok := data[serving.ExampleKey]; ok {
		return errors.Errorf("%s is Knative's documentation of the map and is never written", serving.ExampleKey)
	}
	if err := serving.ValidateConfig(e.config.Name, data); err != nil {
		return errors.Errorf("Knative rejects these %s values: %v", e.config.ConfigMapName(), err)
	}
	err := e.config.Apply(ctx, data, reclaim)
	if errors.Is(err, serving.ErrConfigMapMissing) {
		return errors.Wrap(err, "install it first (a ServingRuntime)")
	}
	return err
}

// Delete removes only this manager's keys.
func (e *servingConfigExternal) Delete(ctx context.Context, mg *servingv1alpha1.ServingConfig) (managed.ExternalDelete, error) {
	mg.SetConditions(xpv2.Deleting())
	return managed.ExternalDelete{}, e.config.Apply(ctx, nil, nil)
}

func (e *servingConfigExternal) Disconnect(context.Context) error { return nil }
