package serving

import (
	"context"
	"fmt"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// Route is a Knative Route of its own (not the one a Knative Service owns),
// managed through the engine's lifecycle.
var Route = &Kind{
	GVR: RoutesGVR, Kind: "Route", Name: "Knative Route",
	validate: ValidateRoute,
	adopt:    withoutTrafficDefaults,
	refuseExisting: func(existing *unstructured.Unstructured) error {
		for _, owner := range existing.GetOwnerReferences() {
			if owner.Kind == "Service" && owner.APIVersion == ServicesGVR.GroupVersion().String() {
				return fmt.Errorf("the Route %s/%s belongs to the Knative Service %q: set its traffic on that Service, "+
					"or give this Route another name", existing.GetNamespace(), existing.GetName(), owner.Name)
			}
		}
		return nil
	},
}

// ValidateRoute runs Knative's own defaulting and validation (the webhook's
// rules) on a Route.
func ValidateRoute(ctx context.Context, obj map[string]any) error {
	return validateTyped(ctx, obj, &servingv1.Route{}, apivalidation.NameIsDNS1035Label)
}

// withoutTrafficDefaults drops the latestRevision Knative's webhook fills in
// on every target of a Route (true with a configuration, false with a revision).
func withoutTrafficDefaults(spec map[string]any) {
	items, _ := spec["traffic"].([]any)
	for _, item := range items {
		t, _ := item.(map[string]any)
		if latest, ok := t["latestRevision"].(bool); ok && latest == (t["revisionName"] == nil) {
			delete(t, "latestRevision")
		}
	}
}
