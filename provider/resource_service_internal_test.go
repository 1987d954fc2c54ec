package provider

import (
	"context"
	"encoding/json"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// A refresh keeps the prior state only when the live Service is the version
// it was computed from, and only if reading that version back reproduces it.
func TestObservedVersion(t *testing.T) {
	ctx := context.Background()
	plan, obj, err := MinimalServicePlan("hello")
	if err != nil {
		t.Fatal(err)
	}
	var m serviceModel
	if diags := plan.Get(ctx, &m); diags.HasError() {
		t.Fatal(diags)
	}
	liveService := func(image string) *unstructured.Unstructured {
		live := &unstructured.Unstructured{Object: obj}
		live = live.DeepCopy()
		live.SetUID("7f1c")
		live.SetResourceVersion("4711")
		live.SetAnnotations(map[string]string{"serving.knative.dev/creator": "admin"})
		// What Knative's webhook adds must not matter.
		container := map[string]any{"name": "user-container", "image": image, "readinessProbe": map[string]any{"successThreshold": int64(1)}}
		_ = unstructured.SetNestedSlice(live.Object, []any{container}, "spec", "template", "spec", "containers")
		_ = unstructured.SetNestedField(live.Object, int64(300), "spec", "template", "spec", "timeoutSeconds")
		return live
	}
	r := (&serviceResource{data: &ProviderData{Version: "1.0.0"}}).lifecycle()

	live := liveService("kind.local/hello:v1")
	var got observed
	if err := json.Unmarshal(r.observed(ctx, &m, live), &got); err != nil {
		t.Fatalf("observed version: %v", err)
	}
	if want := (observed{Namespace: "default", Name: "hello", UID: "7f1c", ResourceVersion: "4711", Provider: "1.0.0"}); got != want {
		t.Errorf("observed %+v, want %+v", got, want)
	}
	if !got.sameVersion(live, r.version()) {
		t.Error("a refresh of the same object would not match the recorded version")
	}
	// Knative's verdict is recorded with the version.
	ready := live.DeepCopy()
	ready.Object["status"] = map[string]any{"observedGeneration": int64(0), "conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}
	var recorded observed
	if err := json.Unmarshal(r.observed(ctx, &m, ready), &recorded); err != nil || !recorded.Ready || !recorded.sameVersion(ready, r.version()) {
		t.Errorf("observed of a Ready Service = %+v, %v; want Ready and the same version", recorded, err)
	}

	if drifted := r.observed(ctx, &m, liveService("kind.local/hello:v2")); drifted != nil {
		t.Errorf("a live Service that differs from the state was recorded as its version: %s", drifted)
	}

	newer := live.DeepCopy()
	newer.SetResourceVersion("4712")
	if got.sameVersion(newer, r.version()) {
		t.Error("a new resourceVersion must not match the recorded one")
	}
	if got.sameVersion(live, "1.1.0") {
		t.Error("another provider version must recompute the state")
	}
}
