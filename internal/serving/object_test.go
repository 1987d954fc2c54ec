package serving

import (
	"errors"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func TestReadiness(t *testing.T) {
	object := func(observed int64, conditions ...map[string]any) *unstructured.Unstructured {
		items := make([]any, len(conditions))
		for i, c := range conditions {
			items[i] = c
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"metadata": map[string]any{"generation": int64(2)},
			"status":   map[string]any{"observedGeneration": observed, "conditions": items},
		}}
	}
	kind := func(kind string, obj *unstructured.Unstructured) *unstructured.Unstructured {
		obj.SetKind(kind)
		return obj
	}
	cond := func(typ, status, reason, message string) map[string]any {
		return map[string]any{"type": typ, "status": status, "reason": reason, "message": message}
	}
	for _, tc := range []struct {
		name          string
		obj           *unstructured.Unstructured
		done          bool
		reason, cause string
		pending       string
	}{
		{name: "older generation observed", obj: object(1, cond("Ready", "True", "", "")),
			pending: "Knative has not reconciled generation 2 yet (observed 1)"},
		{name: "no Ready condition", obj: object(2), pending: "no Ready condition yet"},
		{name: "unknown", obj: object(2, cond("Ready", "Unknown", "Deploying", "")), pending: "Ready=Unknown Deploying: "},
		{name: "ready", obj: object(2, cond("Ready", "True", "", "")), done: true},
		{name: "failed, sub-condition names the cause", done: true, reason: "RevisionFailed", cause: `Revision "a-00001" failed with message: Unable to fetch image`,
			obj: object(2, cond("ConfigurationsReady", "False", "RevisionFailed", `Revision "a-00001" failed with message: Unable to fetch image`),
				cond("Ready", "False", "RevisionMissing", "Configuration does not have any ready Revision."),
				cond("RoutesReady", "False", "RevisionMissing", "Configuration does not have any ready Revision."))},
		{name: "a Service's route not seeing its configuration yet", pending: `Ready=False ConfigurationMissing: Configuration "a" referenced in traffic not found.`,
			obj: kind("Service", object(2, cond("Ready", "False", "ConfigurationMissing", `Configuration "a" referenced in traffic not found.`),
				cond("RoutesReady", "False", "ConfigurationMissing", `Configuration "a" referenced in traffic not found.`)))},
		{name: "a Route's configuration missing", done: true, reason: "ConfigurationMissing", cause: `Configuration "a" referenced in traffic not found.`,
			obj: kind("Route", object(2, cond("Ready", "False", "ConfigurationMissing", `Configuration "a" referenced in traffic not found.`)))},
		{name: "failed alone", done: true, reason: "DomainAlreadyClaimed", cause: "taken",
			obj: object(2, cond("Ready", "False", "DomainAlreadyClaimed", "taken"), cond("IngressReady", "Unknown", "", ""))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(tc.obj, 2)
			if done := v.State != Pending; done != tc.done {
				t.Fatalf("done = %v, want %v", done, tc.done)
			}
			failed := v.Err("Knative Service")
			var notReady *NotReadyError
			switch {
			case tc.reason == "" && failed != nil:
				t.Fatalf("failed with %v", failed)
			case tc.reason != "" && (!errors.As(failed, &notReady) || notReady.Reason != tc.reason || notReady.Message != tc.cause):
				t.Fatalf("failed = %v, want %s: %s", failed, tc.reason, tc.cause)
			}
			if tc.pending != "" {
				if got := v.Waiting; got != tc.pending {
					t.Fatalf("Pending = %q, want %q", got, tc.pending)
				}
			}
		})
	}
}
