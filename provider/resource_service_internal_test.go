package provider

import (
	"context"
	"strings"
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
	r := &serviceResource{data: &ProviderData{Version: "1.0.0"}}

	live := liveService("kind.local/hello:v1")
	got := string(r.observed(ctx, &m, live))
	for _, want := range []string{`"uid":"7f1c"`, `"resourceVersion":"4711"`, `"provider":"1.0.0"`} {
		if !strings.Contains(got, want) {
			t.Errorf("observed version %s lacks %s", got, want)
		}
	}
	if got != string(r.observedVersion(live)) {
		t.Errorf("observed %s, but a refresh of the same object would compare with %s", got, r.observedVersion(live))
	}

	if drifted := r.observed(ctx, &m, liveService("kind.local/hello:v2")); drifted != nil {
		t.Errorf("a live Service that differs from the state was recorded as its version: %s", drifted)
	}

	newer := live.DeepCopy()
	newer.SetResourceVersion("4712")
	if r.observedVersion(newer) == nil || string(r.observedVersion(newer)) == got {
		t.Error("a new resourceVersion must not match the recorded one")
	}
	upgraded := &serviceResource{data: &ProviderData{Version: "1.1.0"}}
	if string(upgraded.observedVersion(live)) == got {
		t.Error("another provider version must recompute the state")
	}
}
