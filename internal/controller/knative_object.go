package controller

import (
	"context"
	"maps"
	"reflect"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
	ctrlevent "sigs.k8s.io/controller-runtime/pkg/event"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// objectKind adapts one managed resource type whose forProvider is a Knative
// object in Knative's own shape (Service, Route, DomainMapping) to the
// engine's lifecycle for that kind. The external client below is the same for
// all of them; a kind only says where its parts are.
type objectKind[M resource.ModernManaged] struct {
	kind *serving.Kind
	// meta is the forProvider's namespace, labels and annotations.
	meta func(M) *servingv1alpha1.ObjectMeta
	// spec is the address of forProvider.spec, a pointer to the Knative
	// spec (nil when observing an existing object without one).
	spec func(M) any
	// status is the Knative status in atProvider (a pointer to it).
	status func(M) any
	// beforeApply and afterDelete, when set, run around writes (domain claims).
	beforeApply func(ctx context.Context, clients *kube.Clients, mg M, namespace, name string) error
	afterDelete func(ctx context.Context, clients *kube.Clients, mg M, namespace, name string) error
	// drift, when set, finds drift beside the object's own (a domain claim
	// taken away); "" when there is none.
	drift func(ctx context.Context, clients *kube.Clients, mg M, namespace, name string) (string, error)
}

// objectConnector connects managed resources of one kind to their cluster.
type objectConnector[M resource.ModernManaged] struct {
	*connector
	kind   objectKind[M]
	record event.Recorder
	events chan<- ctrlevent.GenericEvent
}

func (c *objectConnector[M]) Connect(ctx context.Context, mg M) (managed.TypedExternalClient[M], error) {
	clients, err := c.connect(ctx, mg)
	if err != nil {
		return nil, err
	}
	return &objectExternal[M]{kind: c.kind, clients: clients, objects: c.kind.kind.On(clients), record: c.record, watches: c.watches, events: c.events}, nil
}

// objectExternal observes, creates, updates and deletes one Knative object
// through the engine.
type objectExternal[M resource.ModernManaged] struct {
	kind    objectKind[M]
	clients *kube.Clients
	objects serving.Objects
	record  event.Recorder
	watches *targetWatches
	events  chan<- ctrlevent.GenericEvent
	// deleting is whether Observe found the object's foreground deletion
	// under way already.
	deleting bool
}

// objectWatch is the target cluster's watch of the kind. Only objects this
// provider applied carry ManagedLabel: an Observe-only import is seen at the poll.
func (e *objectExternal[M]) objectWatch() watchKey {
	return watchKey{clients: e.clients, gvr: e.kind.kind.GVR, selector: ManagedLabel + "=" + FieldManager}
}

// identity is the namespace and name of the Knative object: the external
// name, written name or namespace/name; the namespace defaults to
// forProvider.namespace, then to the managed resource's own.
func (e *objectExternal[M]) identity(mg M) (namespace, name string) {
	namespace, name = servingv1alpha1.ExternalName(mg)
	if name == "" {
		name = mg.GetName()
	}
	if namespace == "" {
		namespace = e.kind.meta(mg).Namespace
	}
	if namespace == "" {
		namespace = mg.GetNamespace()
	}
	return namespace, name
}

// desired is the Knative object forProvider describes, with only the fields
// it sets.
func (e *objectExternal[M]) desired(mg M) (*unstructured.Unstructured, error) {
	spec := map[string]any{}
	if v := e.specField(mg); !v.IsNil() {
		var err error
		if spec, err = runtime.DefaultUnstructuredConverter.ToUnstructured(v.Interface()); err != nil {
			return nil, errors.Wrap(err, "cannot convert forProvider.spec")
		}
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": e.kind.kind.APIVersion(), "kind": e.kind.kind.Kind, "spec": withoutNulls(spec),
	}}
	namespace, name := e.identity(mg)
	obj.SetNamespace(namespace)
	obj.SetName(name)
	m := e.kind.meta(mg)
	labels := maps.Clone(m.Labels)
	if writes(mg) {
		// What the target watches select; an Observe-only import writes nothing.
		if labels == nil {
			labels = map[string]string{}
		}
		labels[ManagedLabel] = FieldManager
	}
	if len(labels) > 0 {
		obj.SetLabels(labels)
	}
	if len(m.Annotations) > 0 {
		obj.SetAnnotations(m.Annotations)
	}
	return obj, nil
}

func (e *objectExternal[M]) Observe(ctx context.Context, mg M) (managed.ExternalObservation, error) {
	namespace, name := e.identity(mg)
	imported := e.specField(mg).IsNil()
	var desired *unstructured.Unstructured
	if !imported {
		var err error
		if desired, err = e.desired(mg); err != nil {
			return managed.ExternalObservation{}, err
		}
	}
	obs, err := e.objects.Observe(ctx, namespace, name, desired)
	if err != nil {
		return managed.ExternalObservation{}, errors.Wrapf(err, "cannot read the %s %s/%s", e.kind.kind.Name, namespace, name)
	}
	// Knative's verdict is a change of the object; the watch sees it if the
	// object carries the label it selects (not an Observe-only import's).
	sees := obs.Live != nil && obs.Live.GetLabels()[ManagedLabel] == FieldManager
	e.watches.observed(e.objectWatch(), namespace+"/"+name, e.events, mg, obs.Live != nil, sees)
	if obs.Live == nil {
		if meta.WasDeleted(mg) && e.kind.afterDelete != nil {
			if err := e.kind.afterDelete(ctx, e.clients, mg, namespace, name); err != nil {
				return managed.ExternalObservation{}, err
			}
		}
		return managed.ExternalObservation{ResourceExists: false}, nil
	}
	if err := e.setStatus(mg, obs.Live); err != nil {
		return managed.ExternalObservation{}, err
	}
	if meta.WasDeleted(mg) {
		mg.SetConditions(xpv2.Deleting())
		e.deleting = serving.DeletingInForeground(obs.Live)
		return managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true}, nil
	}
	if obs.Drift == "" && !imported && e.kind.drift != nil {
		if obs.Drift, err = e.kind.drift(ctx, e.clients, mg, namespace, name); err != nil {
			return managed.ExternalObservation{}, err
		}
	}
	lateInitialized := false
	if imported {
		// Observed without a spec (an import): take the live object's.
		if lateInitialized, err = e.adopt(mg, obs.Fields); err != nil {
			return managed.ExternalObservation{}, err
		}
	}
	return managed.ExternalObservation{
		ResourceExists:          true,
		ResourceUpToDate:        obs.Drift == "",
		ResourceLateInitialized: lateInitialized,
		Diff:                    obs.Drift,
		ConnectionDetails:       connectionDetails(obs.Live),
	}, nil
}

// setStatus copies Knative's status into atProvider and sets Ready from
// Knative's Ready condition for the object's current generation.
func (e *objectExternal[M]) setStatus(mg M, live *unstructured.Unstructured) error {
	status := e.kind.status(mg)
	reflect.ValueOf(status).Elem().SetZero()
	if s, ok := live.Object["status"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(s, status); err != nil {
			return errors.Wrap(err, "cannot read the Knative status")
		}
	}
	switch v := serving.Judge(live, live.GetGeneration()); v.State {
	case serving.Failed:
		message := v.Reason + ": " + v.Message
		if c := mg.GetCondition(xpv2.TypeReady); c.Message != message {
			e.record.Event(mg, event.Warning("KnativeNotReady", errors.New(message)))
		}
		mg.SetConditions(xpv2.Unavailable().WithMessage(message))
	case serving.Ready:
		mg.SetConditions(xpv2.Available())
	default:
		// Knative has not decided yet: Creating, which polls quickly.
		mg.SetConditions(xpv2.Creating().WithMessage(v.Waiting))
	}
	return nil
}

// specField is forProvider.spec (a pointer) as a settable value.
func (e *objectExternal[M]) specField(mg M) reflect.Value {
	return reflect.ValueOf(e.kind.spec(mg)).Elem()
}

// adopt fills forProvider from what a user would have written to get the
// live object (webhook defaults and system keys dropped).
func (e *objectExternal[M]) adopt(mg M, fields map[string]any) (bool, error) {
	field := e.specField(mg)
	spec, _ := fields["spec"].(map[string]any)
	adopted := reflect.New(field.Type().Elem())
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(spec, adopted.Interface()); err != nil {
		return false, errors.Wrap(err, "cannot adopt the live spec")
	}
	field.Set(adopted)
	m := e.kind.meta(mg)
	m.Labels, _, _ = unstructured.NestedStringMap(fields, "metadata", "labels")
	delete(m.Labels, ManagedLabel) // this provider's, not the user's
	if len(m.Labels) == 0 {
		m.Labels = nil
	}
	m.Annotations, _, _ = unstructured.NestedStringMap(fields, "metadata", "annotations")
	return true, nil
}

func (e *objectExternal[M]) Create(ctx context.Context, mg M) (managed.ExternalCreation, error) {
	if _, err := e.apply(ctx, mg, true); err != nil {
		return managed.ExternalCreation{}, err
	}
	mg.SetConditions(xpv2.Creating())
	return managed.ExternalCreation{}, nil
}

func (e *objectExternal[M]) Update(ctx context.Context, mg M) (managed.ExternalUpdate, error) {
	if _, err := e.apply(ctx, mg, false); err != nil {
		return managed.ExternalUpdate{}, err
	}
	// Until Knative reconciles the new generation, Ready is not known.
	mg.SetConditions(xpv2.Creating().WithMessage("applied; waiting for Knative to reconcile the change"))
	return managed.ExternalUpdate{}, nil
}

// apply validates the desired object with Knative's own rules (nothing
// invalid is ever written) and server-side applies it.
func (e *objectExternal[M]) apply(ctx context.Context, mg M, creating bool) (*unstructured.Unstructured, error) {
	desired, err := e.desired(mg)
	if err != nil {
		return nil, err
	}
	// Validated as a create: the shape Knative accepts. Rules that compare
	// with the live object (immutable fields) are the webhook's at apply.
	if err := e.kind.kind.Validate(apis.WithinCreate(ctx), desired.Object); err != nil {
		return nil, errors.Errorf("Knative's validation rejects this %s: %v", e.kind.kind.Name, err)
	}
	namespace, name := desired.GetNamespace(), desired.GetName()
	if creating {
		if err := e.objects.PrepareCreate(ctx, namespace, name); err != nil {
			var exists *serving.ExistsError
			if !errors.As(err, &exists) { // created by an earlier reconcile whose status was lost: apply again
				return nil, err
			}
		}
	}
	if e.kind.beforeApply != nil {
		if err := e.kind.beforeApply(ctx, e.clients, mg, namespace, name); err != nil {
			return nil, err
		}
	}
	live, err := e.objects.Apply(ctx, desired)
	return live, errors.Wrapf(err, "cannot apply the %s %s/%s", e.kind.kind.Name, namespace, name)
}

// Delete starts deleting the object (foreground: with what Knative derived
// from it), unless that is under way; the managed resource is gone once
// Observe no longer finds it, which a working watch says when it happens.
func (e *objectExternal[M]) Delete(ctx context.Context, mg M) (managed.ExternalDelete, error) {
	mg.SetConditions(xpv2.Deleting())
	if !e.deleting {
		namespace, name := e.identity(mg)
		if err := e.objects.StartDelete(ctx, namespace, name); err != nil {
			return managed.ExternalDelete{}, errors.Wrapf(err, "cannot delete the %s %s/%s", e.kind.kind.Name, namespace, name)
		}
	}
	e.watches.awaitDeletion(managerOf(e.events, mg), time.Now())
	return managed.ExternalDelete{}, nil
}

func (e *objectExternal[M]) Disconnect(context.Context) error { return nil }

// connectionDetails are the object's URL and in-cluster address.
func connectionDetails(live *unstructured.Unstructured) managed.ConnectionDetails {
	details := managed.ConnectionDetails{}
	if url, _, _ := unstructured.NestedString(live.Object, "status", "url"); url != "" {
		details["url"] = []byte(url)
	}
	if address, _, _ := unstructured.NestedString(live.Object, "status", "address", "url"); address != "" {
		details["address"] = []byte(address)
	}
	return details
}

// writes says whether mg's management policies let it write its object
// (none set: the CRD's default, all).
func writes(mg resource.Managed) bool {
	policies := managed.NewManagementPoliciesResolver(true, mg.GetManagementPolicies())
	return len(mg.GetManagementPolicies()) == 0 || policies.ShouldCreate() || policies.ShouldUpdate()
}

// withoutNulls drops the null and empty string values that the zero values
// of Kubernetes' and Knative's types turn into (an empty creationTimestamp, a
// container's name without omitempty): they are not what the user set, and a
// Kubernetes API cannot tell them from unset.
func withoutNulls(m map[string]any) map[string]any {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case string:
			if v == "" {
				delete(m, k)
			}
		case map[string]any:
			withoutNulls(v)
		case []any:
			for _, item := range v {
				if im, ok := item.(map[string]any); ok {
					withoutNulls(im)
				}
			}
		}
	}
	return m
}
