package serving

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/apis"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// RoutesGVR is Knative's Route API.
var RoutesGVR = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "routes"}

// ValidateRoute runs Knative's own defaulting and validation (the webhook's
// rules) on a Route.
func ValidateRoute(ctx context.Context, obj map[string]any) error {
	route := &servingv1.Route{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, route); err != nil {
		return err
	}
	route.SetDefaults(ctx)
	if fe := route.Validate(ctx).Filter(apis.ErrorLevel); fe != nil {
		return errors.New(fe.Error())
	}
	return nil
}

// Routes applies, reads, waits on and deletes Knative Routes of their own
// (not the ones Knative Services own).
type Routes struct {
	Clients *kube.Clients
}

func (r *Routes) objects() readyObjects {
	return readyObjects{clients: r.Clients, gvr: RoutesGVR, kind: "Knative Route"}
}

// PrepareCreate refuses an existing Route: a Knative Service's own Route is
// managed through the Service, any other must be imported.
func (r *Routes) PrepareCreate(ctx context.Context, namespace, name string) error {
	existing, err := r.Get(ctx, namespace, name)
	if err != nil {
		return err
	}
	if existing == nil {
		return nil
	}
	for _, owner := range existing.GetOwnerReferences() {
		if owner.Kind == "Service" && owner.APIVersion == ServicesGVR.GroupVersion().String() {
			return fmt.Errorf("the Route %s/%s belongs to the Knative Service %q: set its traffic on that Service, "+
				"or give this Route another name", namespace, name, owner.Name)
		}
	}
	return r.objects().refuseExisting(ctx, namespace, name)
}

// Apply server-side applies the fields of obj (see readyObjects.apply).
func (r *Routes) Apply(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return r.objects().apply(ctx, obj)
}

// Get reads a Route; nil when it does not exist.
func (r *Routes) Get(ctx context.Context, namespace, name string) (*unstructured.Unstructured, error) {
	return r.objects().get(ctx, namespace, name)
}

// WaitReady watches the Route until Knative has observed its generation and
// decided readiness (targets resolved, ingress ready), failing with Knative's
// reason, such as a revision that does not exist.
func (r *Routes) WaitReady(ctx context.Context, namespace, name string, generation int64) (*unstructured.Unstructured, error) {
	return r.objects().waitReady(ctx, namespace, name, generation)
}

// Delete deletes the Route and waits until it is gone, with what Knative
// derived from it (its ingress and placeholder Kubernetes Service).
func (r *Routes) Delete(ctx context.Context, namespace, name string) error {
	return r.objects().delete(ctx, namespace, name)
}
