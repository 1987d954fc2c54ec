package function

import (
	"context"
	"encoding/json"
	"testing"

	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/google/go-cmp/cmp"
)

func appRequest(t *testing.T, spec string, observed map[string]string) *fnv1.RunFunctionRequest {
	t.Helper()
	req := &fnv1.RunFunctionRequest{Observed: &fnv1.State{
		Composite: &fnv1.Resource{Resource: resource.MustStructJSON(`{"apiVersion":"platform.example.org/v1alpha1","kind":"App",
			"metadata":{"name":"hello","namespace":"apps"},"spec":` + spec + `}`)},
		Resources: map[string]*fnv1.Resource{},
	}}
	for name, obj := range observed {
		req.Observed.Resources[name] = &fnv1.Resource{Resource: resource.MustStructJSON(obj)}
	}
	return req
}

func run(t *testing.T, req *fnv1.RunFunctionRequest) *fnv1.RunFunctionResponse {
	t.Helper()
	rsp, err := (&Function{}).RunFunction(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return rsp
}

func asMap(t *testing.T, r *fnv1.Resource) map[string]any {
	t.Helper()
	data, err := r.GetResource().MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestComposesServiceAndDomainMapping(t *testing.T) {
	rsp := run(t, appRequest(t, `{"image":"kind.local/hello","env":[{"name":"B","value":"2"},{"name":"A","value":"1"}],"domain":"hello.example.org",
		"minScale":1,"maxScale":3,"visibility":"cluster-local"}`, nil))
	if len(rsp.GetResults()) != 0 {
		t.Fatalf("results: %v", rsp.GetResults())
	}
	desired := rsp.GetDesired().GetResources()
	wantService := map[string]any{
		"apiVersion": "serving.knative.m.crossplane.io/v1alpha1", "kind": "Service",
		"metadata": map[string]any{"name": "hello", "namespace": "apps"},
		"spec": map[string]any{"forProvider": map[string]any{
			"labels": map[string]any{"networking.knative.dev/visibility": "cluster-local"},
			"spec": map[string]any{"template": map[string]any{
				"metadata": map[string]any{"annotations": map[string]any{
					"autoscaling.knative.dev/min-scale": "1", "autoscaling.knative.dev/max-scale": "3"}},
				"spec": map[string]any{"containers": []any{map[string]any{"image": "kind.local/hello",
					"env": []any{map[string]any{"name": "B", "value": "2"}, map[string]any{"name": "A", "value": "1"}}}}},
			}},
		}},
	}
	if diff := cmp.Diff(wantService, asMap(t, desired[string(ServiceResource)])); diff != "" {
		t.Errorf("Service managed resource (-want +got):\n%s", diff)
	}
	wantMapping := map[string]any{
		"apiVersion": "serving.knative.m.crossplane.io/v1alpha1", "kind": "DomainMapping",
		"metadata": map[string]any{"name": "hello.example.org", "namespace": "apps"},
		"spec":     map[string]any{"forProvider": map[string]any{"serviceRef": map[string]any{"name": "hello"}}},
	}
	if diff := cmp.Diff(wantMapping, asMap(t, desired[string(DomainMappingResource)])); diff != "" {
		t.Errorf("DomainMapping managed resource (-want +got):\n%s", diff)
	}
	for name, r := range desired {
		if r.GetReady() != fnv1.Ready_READY_FALSE {
			t.Errorf("%s is %v before it exists", name, r.GetReady())
		}
	}
}

func TestReadinessAndStatusFollowTheManagedResources(t *testing.T) {
	const readyService = `{"apiVersion":"serving.knative.m.crossplane.io/v1alpha1","kind":"Service","metadata":{"name":"hello"},
		"status":{"conditions":[{"type":"Ready","status":"True"}],"atProvider":{"url":"http://hello.apps.example.com",
		"address":{"url":"http://hello.apps.svc.cluster.local"},"latestReadyRevisionName":"hello-00002"}}}`
	const pendingMapping = `{"apiVersion":"serving.knative.m.crossplane.io/v1alpha1","kind":"DomainMapping","metadata":{"name":"hello.example.org"},
		"status":{"conditions":[{"type":"Ready","status":"False","reason":"Creating"}]}}`

	for _, tc := range []struct {
		name     string
		spec     string
		observed map[string]string
		ready    map[string]fnv1.Ready
		url      string
	}{
		{"no domain: the Service's URL", `{"image":"i"}`, map[string]string{"service": readyService},
			map[string]fnv1.Ready{"service": fnv1.Ready_READY_TRUE}, "http://hello.apps.example.com"},
		{"a domain not mapped yet: the Service's URL until then", `{"image":"i","domain":"hello.example.org"}`,
			map[string]string{"service": readyService, "domain-mapping": pendingMapping},
			map[string]fnv1.Ready{"service": fnv1.Ready_READY_TRUE, "domain-mapping": fnv1.Ready_READY_FALSE}, "http://hello.apps.example.com"},
		{"a mapped domain: its URL", `{"image":"i","domain":"hello.example.org"}`,
			map[string]string{"service": readyService, "domain-mapping": `{"apiVersion":"serving.knative.m.crossplane.io/v1alpha1","kind":"DomainMapping",
				"metadata":{"name":"hello.example.org"},"status":{"conditions":[{"type":"Ready","status":"True"}],"atProvider":{"url":"https://hello.example.org"}}}`},
			map[string]fnv1.Ready{"service": fnv1.Ready_READY_TRUE, "domain-mapping": fnv1.Ready_READY_TRUE}, "https://hello.example.org"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rsp := run(t, appRequest(t, tc.spec, tc.observed))
			for name, want := range tc.ready {
				if got := rsp.GetDesired().GetResources()[name].GetReady(); got != want {
					t.Errorf("%s: ready %v, want %v", name, got, want)
				}
			}
			status, _ := asMap(t, rsp.GetDesired().GetComposite())["status"].(map[string]any)
			want := map[string]any{"url": tc.url, "address": "http://hello.apps.svc.cluster.local", "latestReadyRevision": "hello-00002"}
			if diff := cmp.Diff(want, status); diff != "" {
				t.Errorf("App status (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAnAppWithoutImageIsFatal(t *testing.T) {
	rsp := run(t, appRequest(t, `{"env":[{"name":"A","value":"1"}]}`, nil))
	results := rsp.GetResults()
	if len(results) != 1 || results[0].GetSeverity() != fnv1.Severity_SEVERITY_FATAL || results[0].GetMessage() != "spec.image: required" {
		t.Fatalf("results: %v", results)
	}
	if len(rsp.GetDesired().GetResources()) != 0 {
		t.Errorf("composed %v for an App without image", rsp.GetDesired().GetResources())
	}
}
