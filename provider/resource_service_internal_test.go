package provider

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
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
	var got observed
	if err := json.Unmarshal(r.observed(ctx, &m, live), &got); err != nil {
		t.Fatalf("observed version: %v", err)
	}
	if want := (observed{"default", "hello", "7f1c", "4711", "1.0.0", false}); got != want {
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

// frameworkStandIn counts the plans that reach the framework.
type frameworkStandIn struct {
	tfprotov6.ProviderServer
	plans int
}

func (f *frameworkStandIn) PlanResourceChange(context.Context, *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	f.plans++
	return &tfprotov6.PlanResourceChangeResponse{}, nil
}

// The plan shortcut answers only an unchanged knative_service whose recorded
// version Knative had Ready; everything else is the framework's.
func TestPlanShortcutTakesOnlyUnchangedReadyServices(t *testing.T) {
	private := func(o observed) []byte {
		entry, _ := json.Marshal(o)
		data, _ := json.Marshal(map[string][]byte{observedKey: entry})
		return data
	}
	ready := private(observed{Namespace: "default", Name: "hello", UID: "7f1c", ResourceVersion: "4711", Ready: true})
	notReady := private(observed{Namespace: "default", Name: "hello", UID: "7f1c", ResourceVersion: "4711"})
	state := &tfprotov6.DynamicValue{MsgPack: []byte{0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa5, 'h', 'e', 'l', 'l', 'o'}}
	changed := &tfprotov6.DynamicValue{MsgPack: []byte{0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa5, 'w', 'o', 'r', 'l', 'd'}}
	for _, tc := range []struct {
		name            string
		typeName        string
		prior, proposed *tfprotov6.DynamicValue
		private         []byte
		wantFramework   bool
	}{
		{name: "unchanged and Ready", typeName: "knative_service", prior: state, proposed: state, private: ready},
		{name: "changed", typeName: "knative_service", prior: state, proposed: changed, private: ready, wantFramework: true},
		{name: "not Ready", typeName: "knative_service", prior: state, proposed: state, private: notReady, wantFramework: true},
		{name: "no recorded version", typeName: "knative_service", prior: state, proposed: state, wantFramework: true},
		{name: "a create", typeName: "knative_service", proposed: state, private: ready, wantFramework: true},
		{name: "another resource", typeName: "knative_route", prior: state, proposed: state, private: ready, wantFramework: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			framework := &frameworkStandIn{}
			s := newServer(&knativeProvider{}, framework)
			resp, err := s.PlanResourceChange(context.Background(), &tfprotov6.PlanResourceChangeRequest{
				TypeName: tc.typeName, PriorState: tc.prior, ProposedNewState: tc.proposed, PriorPrivate: tc.private,
			})
			if err != nil {
				t.Fatal(err)
			}
			if (framework.plans == 1) != tc.wantFramework {
				t.Fatalf("framework plans %d, want framework %v", framework.plans, tc.wantFramework)
			}
			if !tc.wantFramework && (resp.PlannedState != tc.prior || string(resp.PlannedPrivate) != string(tc.private)) {
				t.Errorf("the shortcut planned %v / %s, want the prior state and private state", resp.PlannedState, resp.PlannedPrivate)
			}
		})
	}
}

func TestQuietLogsUnlessAsked(t *testing.T) {
	for _, tc := range []struct {
		env   map[string]string
		quiet bool
	}{
		{env: map[string]string{}, quiet: true},
		{env: map[string]string{"TF_LOG_PATH": "/tmp/tf.log"}, quiet: true},
		{env: map[string]string{"TF_LOG": "TRACE"}},
		{env: map[string]string{"TF_LOG_PROVIDER": "DEBUG"}},
		{env: map[string]string{"TF_LOG_SDK_FRAMEWORK": "TRACE"}},
	} {
		for _, name := range []string{"TF_LOG", "TF_LOG_PATH", "TF_LOG_PROVIDER", "TF_LOG_PROVIDER_KNATIVE", "TF_LOG_SDK", "TF_LOG_SDK_FRAMEWORK"} {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		QuietLogsUnlessAsked()
		if got := os.Getenv("TF_LOG_SDK") == "OFF" && os.Getenv("TF_LOG_PROVIDER_KNATIVE") == "OFF"; got != tc.quiet {
			t.Errorf("with %v: quiet %v, want %v", tc.env, got, tc.quiet)
		}
	}
}
