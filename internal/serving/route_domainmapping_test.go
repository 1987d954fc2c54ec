package serving

import (
	"context"
	"errors"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"knative.dev/pkg/apis"

	"github.com/tf-knative/terraform-provider-knative/internal/kube/kubetest"
)

func TestRouteAndDomainMappingKinds(t *testing.T) {
	ctx := apis.WithinCreate(context.Background())
	route := map[string]any{"apiVersion": Route.APIVersion(), "kind": "Route", "metadata": map[string]any{"name": "split", "namespace": "default"},
		"spec": map[string]any{"traffic": []any{map[string]any{"configurationName": "hello", "percent": int64(100)}}}}
	if err := Route.Validate(ctx, route); err != nil {
		t.Errorf("a valid Route: %v", err)
	}
	bad := map[string]any{"apiVersion": Route.APIVersion(), "kind": "Route", "metadata": map[string]any{"name": "split", "namespace": "default"},
		"spec": map[string]any{"traffic": []any{map[string]any{"configurationName": "hello", "percent": int64(60)}}}}
	if err := Route.Validate(ctx, bad); err == nil || !strings.Contains(err.Error(), "Traffic targets sum to 60, want 100") {
		t.Errorf("a Route whose traffic sums to 60: %v", err)
	}
	mapping := map[string]any{"apiVersion": DomainMapping.APIVersion(), "kind": "DomainMapping", "metadata": map[string]any{"name": "hello.example.org", "namespace": "default"},
		"spec": map[string]any{"ref": map[string]any{"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "hello"}}}
	if err := DomainMapping.Validate(ctx, mapping); err != nil {
		t.Errorf("a valid DomainMapping: %v", err)
	}
	// An imported Route reads as written: the webhook's latestRevision defaults dropped.
	live := &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "split"}, "spec": map[string]any{"traffic": []any{
		map[string]any{"configurationName": "hello", "percent": int64(50), "latestRevision": true},
		map[string]any{"revisionName": "hello-00001", "percent": int64(50), "latestRevision": false},
		map[string]any{"revisionName": "hello-00002", "percent": int64(0), "latestRevision": true},
	}}}}
	traffic := Route.Adopt(live)["spec"].(map[string]any)["traffic"].([]any)
	for i, want := range []bool{false, false, true} {
		if _, kept := traffic[i].(map[string]any)["latestRevision"]; kept != want {
			t.Errorf("traffic[%d] keeps latestRevision %v, want %v", i, kept, want)
		}
	}
}

func TestDryRunApply(t *testing.T) {
	obj := ksvc("hello", "a")
	for _, tc := range []struct {
		name                      string
		err                       error
		refused, warning, skipped string
	}{
		{name: "accepted"},
		{name: "refused at a field", err: apierrors.NewInvalid(schema.GroupKind{Group: "serving.knative.dev", Kind: "Service"}, "hello",
			field.ErrorList{field.Invalid(field.NewPath("spec", "template", "spec", "timeoutSeconds"), 9000, "must be at most 600")}), refused: "must be at most 600"},
		{name: "no namespace yet", err: apierrors.NewNotFound(schema.GroupResource{Resource: "namespaces"}, "default"), warning: `the namespace "default" does not exist yet`},
		{name: "kind not served", err: apierrors.NewNotFound(ServicesGVR.GroupResource(), "hello"), skipped: "Knative Service is not served by the cluster yet"},
		{name: "webhook down", err: apierrors.NewInternalError(errors.New(`failed calling webhook "webhook.serving.knative.dev"`)), warning: "the cluster could not judge it"},
		{name: "overloaded", err: apierrors.NewTooManyRequests("slow down", 1), warning: "the cluster could not judge it: slow down"},
		{name: "unreachable", err: errors.New("dial tcp: connection refused"), skipped: "the cluster cannot be reached: dial tcp: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := kubetest.New()
			if tc.err != nil {
				c.Fail("patch", "services", tc.err, nil)
			}
			v := Service.On(c.Clients).DryRunApply(context.Background(), obj)
			check := func(what, got, want string) {
				if (want == "") != (got == "") || !strings.Contains(got, want) {
					t.Errorf("%s = %q, want %q", what, got, want)
				}
			}
			refused := ""
			if v.Refused != nil {
				refused = v.Refused.Error()
			}
			check("Refused", refused, tc.refused)
			check("Warning", v.Warning, tc.warning)
			check("Skipped", v.Skipped, tc.skipped)
			if c.Get(ServicesGVR, "default", "hello") != nil {
				t.Error("a dry-run stored the Service")
			}
		})
	}
}
