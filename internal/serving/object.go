package serving

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// readyObjects applies, reads, waits on and deletes namespaced Knative
// objects of one kind that report a Ready condition (Services, DomainMappings).
type readyObjects struct {
	clients *kube.Clients
	gvr     schema.GroupVersionResource
	kind    string // as messages name it, such as "Knative Service"
}

func (o readyObjects) resource(namespace string) dynamicResource {
	return o.clients.Dynamic.Resource(o.gvr).Namespace(namespace)
}

// apply server-side applies the fields of obj, owned by the provider's field
// manager. Fields set by others (annotations Knative's webhook adds, an image
// a CI pipeline deployed that obj does not set) are left alone.
func (o readyObjects) apply(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return o.resource(obj.GetNamespace()).Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: o.clients.FieldManager, Force: true})
}

// get reads an object; nil when it does not exist.
func (o readyObjects) get(ctx context.Context, namespace, name string) (*unstructured.Unstructured, error) {
	obj, err := o.resource(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return obj, err
}

// refuseExisting makes sure an object can be created: one that already exists
// must be imported, not silently adopted; one being deleted is waited for.
func (o readyObjects) refuseExisting(ctx context.Context, namespace, name string) error {
	existing, err := o.get(ctx, namespace, name)
	if err != nil || existing == nil {
		return err
	}
	if existing.GetDeletionTimestamp() == nil {
		return fmt.Errorf("the %s %s/%s already exists. To manage it with Terraform, import it: "+
			"terraform import <resource address> %s/%s", o.kind, namespace, name, namespace, name)
	}
	if err := o.waitGone(ctx, namespace, name); err != nil {
		return fmt.Errorf("the %s %s/%s is still being deleted: %w", o.kind, namespace, name, err)
	}
	return nil
}

// waitReady watches the object until Knative has observed generation and
// decided readiness. When Knative says it failed, the error is a
// NotReadyError with Knative's reason and message.
func (o readyObjects) waitReady(ctx context.Context, namespace, name string, generation int64) (*unstructured.Unstructured, error) {
	lw := listWatch(o.resource(namespace), fields.OneTermEqualSelector("metadata.name", name).String())
	var last *unstructured.Unstructured
	done := func(obj *unstructured.Unstructured) (bool, error) {
		last = obj
		observed, _, _ := unstructured.NestedInt64(obj.Object, "status", "observedGeneration")
		if observed < generation {
			return false, nil
		}
		switch c := condition(obj, "Ready"); {
		case c == nil:
			return false, nil
		case c["status"] == "True":
			return true, nil
		case c["status"] == "False":
			return true, &NotReadyError{Kind: o.kind, Reason: fmt.Sprint(c["reason"]), Message: fmt.Sprint(c["message"])}
		}
		return false, nil
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{},
		func(store cache.Store) (bool, error) {
			if item, ok, _ := store.GetByKey(namespace + "/" + name); ok {
				return done(item.(*unstructured.Unstructured))
			}
			return false, nil
		},
		func(ev watch.Event) (bool, error) {
			if ev.Type == watch.Deleted {
				return false, fmt.Errorf("%s %s/%s was deleted while waiting for it", o.kind, namespace, name)
			}
			obj, ok := ev.Object.(*unstructured.Unstructured)
			if !ok {
				return false, nil
			}
			return done(obj)
		})
	var notReady *NotReadyError
	if errors.As(err, &notReady) {
		return last, err
	}
	if err != nil && last != nil {
		c := condition(last, "Ready")
		state := "no Ready condition yet"
		if c != nil {
			state = fmt.Sprintf("Ready=%v %v: %v", c["status"], c["reason"], c["message"])
		}
		return last, fmt.Errorf("%s %s/%s is not ready (%s): %w", o.kind, namespace, name, state, err)
	}
	return last, err
}

// NotReadyError is Knative's own verdict that an object failed.
type NotReadyError struct{ Kind, Reason, Message string }

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("Knative reports the %s is not ready: %s: %s", e.Kind, e.Reason, e.Message)
}

// delete deletes the object and waits until it is gone. Foreground
// propagation keeps it until what Knative derived from it is deleted, so
// nothing is left behind when it returns.
func (o readyObjects) delete(ctx context.Context, namespace, name string) error {
	foreground := metav1.DeletePropagationForeground
	err := o.resource(namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &foreground})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	return o.waitGone(ctx, namespace, name)
}

// waitGone returns once the object no longer exists.
func (o readyObjects) waitGone(ctx context.Context, namespace, name string) error {
	return pollUntil(ctx, func() bool {
		obj, err := o.get(ctx, namespace, name)
		return err == nil && obj == nil
	})
}
