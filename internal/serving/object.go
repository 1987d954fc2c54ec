package serving

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"knative.dev/pkg/apis"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// Kind is one kind of namespaced Knative object with a Ready condition
// (Service, Route, DomainMapping). Its lifecycle is the same for every
// frontend: build the desired object, validate it with Knative's own rules,
// apply the fields it sets, read it back reduced to those fields, wait for
// Knative's verdict, delete it and what Knative derived from it.
type Kind struct {
	GVR  schema.GroupVersionResource
	Kind string // the object's kind, such as "Service"
	Name string // as messages name it, such as "Knative Service"

	// validate runs Knative's defaulting and validation on the typed object.
	validate func(ctx context.Context, obj map[string]any) error
	// adopt drops from a live object's spec what Knative's webhook fills in,
	// so an imported object reads as what a user would have written.
	adopt func(spec map[string]any)
	// refuseExisting says why an existing object of the name cannot be
	// managed at all (before the generic "import it").
	refuseExisting func(existing *unstructured.Unstructured) error
	// prepareCreate waits for what must hold before the object is created,
	// once no object of the name exists.
	prepareCreate func(ctx context.Context, o Objects, namespace, name string) error
	// afterDelete waits, once the object is gone, for what Knative derived
	// from it that foreground deletion does not wait for.
	afterDelete func(ctx context.Context, o Objects, namespace, name string) error
}

// APIVersion is the kind's group/version.
func (k *Kind) APIVersion() string { return k.GVR.GroupVersion().String() }

// Validate runs Knative's own defaulting and validation (the webhook's rules,
// from knative.dev/serving's types) on obj, so bad input is refused before
// anything is written, in the webhook's words.
func (k *Kind) Validate(ctx context.Context, obj map[string]any) error {
	return k.validate(ctx, obj)
}

// On returns the kind's lifecycle against a cluster.
func (k *Kind) On(clients *kube.Clients) Objects { return Objects{Clients: clients, Kind: k} }

// Adopt is a live object reduced to what a user would have written: its
// metadata labels and annotations minus the system keys Knative adds, and its
// spec minus what Knative's webhook defaults. Import starts from it.
func (k *Kind) Adopt(live *unstructured.Unstructured) map[string]any {
	obj := runtime.DeepCopyJSON(live.Object)
	liveMeta, _ := obj["metadata"].(map[string]any)
	meta := map[string]any{}
	for _, field := range []string{"labels", "annotations"} {
		if m, ok := liveMeta[field].(map[string]any); ok {
			meta[field] = m
		}
	}
	TrimSystemKeys(meta)
	spec, _ := obj["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
	}
	if k.adopt != nil {
		k.adopt(spec)
	}
	return map[string]any{"metadata": meta, "spec": spec}
}

// TrimSystemKeys drops from metadata the labels and annotations Knative and
// kubectl set on their own (serving.knative.dev/creator, lastModifier, ...),
// and the maps that end up empty.
func TrimSystemKeys(meta map[string]any) {
	for _, field := range []string{"labels", "annotations"} {
		m, _ := meta[field].(map[string]any)
		for k := range m {
			if strings.HasPrefix(k, "serving.knative.dev/") && k != "serving.knative.dev/rollout-duration" ||
				k == "kubectl.kubernetes.io/last-applied-configuration" {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			delete(meta, field)
		}
	}
}

// validateTyped converts obj into Knative's typed object, defaults and
// validates it as Knative's webhook would, and checks the Kubernetes rules
// Knative leaves to the API server (kubernetesRules). Each of the returned
// *apis.FieldError's WrappedErrors names its field paths.
func validateTyped[T interface {
	SetDefaults(context.Context)
	Validate(context.Context) *apis.FieldError
}](ctx context.Context, obj map[string]any, typed T, name nameRule) error {
	rules := kubernetesRules(obj, name)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, typed); err != nil {
		if rules != nil {
			return rules // what made it unreadable (a quantity), at its field
		}
		return err
	}
	typed.SetDefaults(ctx)
	if fe := typed.Validate(ctx).Filter(apis.ErrorLevel).Also(rules); fe != nil {
		return fe
	}
	return nil
}

// Objects is the lifecycle of one Kind against one cluster.
type Objects struct {
	Clients *kube.Clients
	Kind    *Kind
}

func (o Objects) resource(namespace string) dynamicResource {
	return o.Clients.Dynamic.Resource(o.Kind.GVR).Namespace(namespace)
}

// Apply server-side applies the fields of obj, owned by the provider's field
// manager. Fields set by others (annotations Knative's webhook adds, an image
// a CI pipeline deployed that obj does not set) are left alone.
func (o Objects) Apply(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	live, err := o.resource(obj.GetNamespace()).Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: o.Clients.FieldManager, Force: true})
	return live, explainAdmission(err)
}

// explainAdmission says what an API server's failure to call Knative's
// webhook means: until the webhook answers, no Knative object is admitted.
func explainAdmission(err error) error {
	if !webhookUnreachable(err) || !strings.Contains(err.Error(), "knative.dev") {
		return err
	}
	return fmt.Errorf("%w. Knative's webhook cannot be reached: the API server admits no Knative object until it answers. "+
		"Check that the webhook Deployment in %s runs and is Ready", err, Namespace)
}

// webhookUnreachable tells an API server that could not call an admission
// webhook (no Service, no endpoints, no CA bundle yet) from a webhook's verdict.
func webhookUnreachable(err error) bool {
	return err != nil && apierrors.IsInternalError(err) && strings.Contains(err.Error(), "failed calling webhook")
}

// Get reads an object; nil when it does not exist.
func (o Objects) Get(ctx context.Context, namespace, name string) (*unstructured.Unstructured, error) {
	obj, err := o.resource(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return obj, err
}

// PrepareCreate makes sure the object can be created: one that already
// exists must be imported, not silently adopted; one being deleted, and what
// it left behind, are waited for.
func (o Objects) PrepareCreate(ctx context.Context, namespace, name string) error {
	existing, err := o.Get(ctx, namespace, name)
	if err != nil {
		return err
	}
	if existing != nil {
		if o.Kind.refuseExisting != nil {
			if err := o.Kind.refuseExisting(existing); err != nil {
				return err
			}
		}
		if existing.GetDeletionTimestamp() == nil {
			return &ExistsError{Kind: o.Kind.Name, Namespace: namespace, Name: name}
		}
		if err := o.waitGone(ctx, namespace, name); err != nil {
			return fmt.Errorf("the %s %s/%s is still being deleted: %w", o.Kind.Name, namespace, name, err)
		}
	}
	if o.Kind.prepareCreate != nil {
		return o.Kind.prepareCreate(ctx, o, namespace, name)
	}
	return nil
}

// ExistsError says an object to be created exists already and is not ours.
type ExistsError struct{ Kind, Namespace, Name string }

func (e *ExistsError) Error() string {
	return fmt.Sprintf("the %s %s/%s already exists; import it to manage it", e.Kind, e.Namespace, e.Name)
}

// Observed is what a read finds of an object.
type Observed struct {
	// Live is the object; nil when it does not exist.
	Live *unstructured.Unstructured
	// Fields is the live object reduced to the fields desired sets (with
	// their live values), or adopted whole when there was no desired.
	Fields map[string]any
	// Drift is "" when the live object carries every field desired sets,
	// else the first difference, such as
	// `.spec.template.spec.containers[0].image is "b", want "a"`.
	Drift string
}

// Observe reads the object and compares it with desired (nil on import). It
// costs one GET; Observed.Live is nil when the object does not exist.
func (o Objects) Observe(ctx context.Context, namespace, name string, desired *unstructured.Unstructured) (Observed, error) {
	live, err := o.Get(ctx, namespace, name)
	if err != nil || live == nil {
		return Observed{}, err
	}
	return o.Kind.Compare(live, desired), nil
}

// Compare reduces live to what desired sets (or adopts it whole when desired
// is nil) and finds drift. Fields Knative's webhook or controllers add are
// never drift; fields desired sets that changed on the cluster are.
func (k *Kind) Compare(live, desired *unstructured.Unstructured) Observed {
	obs := Observed{Live: live}
	if desired == nil {
		obs.Fields = k.Adopt(live)
		return obs
	}
	want := desired.DeepCopy().Object
	delete(want, "apiVersion")
	delete(want, "kind")
	obs.Fields, _ = Project(want, live.Object).(map[string]any)
	obs.Drift = firstDifference(want, live.Object, "")
	return obs
}

// WaitReady watches the object until Knative has observed generation and
// decided readiness. When Knative says it failed, the error is a
// NotReadyError with Knative's reason and message.
func (o Objects) WaitReady(ctx context.Context, namespace, name string, generation int64) (*unstructured.Unstructured, error) {
	var last *unstructured.Unstructured
	err := o.watchUntil(ctx, namespace, name, func(obj *unstructured.Unstructured) (bool, error) {
		if obj == nil {
			return false, fmt.Errorf("%s %s/%s was deleted while waiting for it", o.Kind.Name, namespace, name)
		}
		last = obj
		v := Judge(obj, generation)
		return v.State != Pending, v.Err(o.Kind.Name)
	})
	var notReady *NotReadyError
	if errors.As(err, &notReady) {
		return last, err
	}
	if err != nil && last != nil {
		return last, fmt.Errorf("%s %s/%s is not ready (%s): %w", o.Kind.Name, namespace, name, Judge(last, generation).Waiting, err)
	}
	return last, err
}

// watchUntil lists and watches the one object until done accepts what it
// sees: the object as it is now and at each change, or nil once it does not
// exist (deleted, or not there to begin with). A watch reports the change as
// it happens, where a poll would find it up to its interval later.
func (o Objects) watchUntil(ctx context.Context, namespace, name string, done func(*unstructured.Unstructured) (bool, error)) error {
	lw := listWatch(o.resource(namespace), fields.OneTermEqualSelector("metadata.name", name).String())
	key := cache.NewObjectName(namespace, name).String() // as the informer's store keys it
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{},
		func(store cache.Store) (bool, error) {
			if item, ok, _ := store.GetByKey(key); ok {
				return done(item.(*unstructured.Unstructured))
			}
			// The informer's first list comes from the API server's watch
			// cache, which can lag a write just made (a create, say): only a
			// read says the object does not exist. When it does, the watch
			// brings it, as it starts where that list was.
			live, err := o.Get(ctx, namespace, name)
			if err != nil || live != nil {
				return false, err
			}
			return done(nil)
		},
		func(ev watch.Event) (bool, error) {
			obj, ok := ev.Object.(*unstructured.Unstructured)
			if !ok || obj.GetName() != name { // a bookmark, or a client that ignores the field selector
				return false, nil
			}
			if ev.Type == watch.Deleted {
				return done(nil)
			}
			return done(obj)
		})
	if ctx.Err() != nil && (wait.Interrupted(err) || errors.Is(err, ctx.Err())) {
		return ctx.Err() // not "timed out waiting for the condition" or "unable to sync caches"
	}
	return err
}

// StartDelete asks for the object's deletion and returns without waiting.
// Foreground propagation keeps it until what Knative derived from it is
// deleted, so once it is gone nothing is left behind.
func (o Objects) StartDelete(ctx context.Context, namespace, name string) error {
	foreground := metav1.DeletePropagationForeground
	err := o.resource(namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &foreground})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// DeletingInForeground says whether live's deletion with what Knative
// derived from it is under way already (StartDelete's, or one like it):
// asking again would change nothing.
func DeletingInForeground(live *unstructured.Unstructured) bool {
	return live != nil && live.GetDeletionTimestamp() != nil && slices.Contains(live.GetFinalizers(), metav1.FinalizerDeleteDependents)
}

// Delete deletes the object and waits until it is gone, with what Knative
// derived from it.
func (o Objects) Delete(ctx context.Context, namespace, name string) error {
	if err := o.StartDelete(ctx, namespace, name); err != nil {
		return err
	}
	if err := o.waitGone(ctx, namespace, name); err != nil || o.Kind.afterDelete == nil {
		return err
	}
	return o.Kind.afterDelete(ctx, o, namespace, name)
}

// waitGone returns once the object no longer exists: as kubectl delete
// --wait does, it watches, so a destroy returns when the deletion finishes.
func (o Objects) waitGone(ctx context.Context, namespace, name string) error {
	return o.watchUntil(ctx, namespace, name, func(obj *unstructured.Unstructured) (bool, error) { return obj == nil, nil })
}
