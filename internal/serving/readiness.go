package serving

import (
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"knative.dev/pkg/apis"
	duckv1 "knative.dev/pkg/apis/duck/v1"
)

// ReadyState is Knative's verdict on one generation of an object.
type ReadyState int

const (
	// Pending: Knative has not decided yet for this generation.
	Pending ReadyState = iota
	// Ready: Knative observed the generation and set Ready=True.
	Ready
	// Failed: Knative observed the generation and set Ready=False.
	Failed
)

// Verdict is Knative's judgement of an object at a generation, read from its
// status as Knative's duck type (duckv1.Status) and its Ready condition. Both
// frontends show it: Terraform as ready and the errors of a wait, Crossplane
// as the managed resource's Ready condition.
type Verdict struct {
	State ReadyState
	// Ready is Knative's Ready condition as it stands (zero when there is none).
	Ready apis.Condition
	// Reason and Message say why a Failed object failed, in Knative's words:
	// the failing sub-condition's, which names the cause, else Ready's.
	Reason, Message string
	// Waiting says what a Pending object waits for.
	Waiting string
}

// Judge is Knative's verdict on obj at generation (its metadata.generation
// when the caller wrote it; 0 to judge whatever Knative last observed).
func Judge(obj *unstructured.Unstructured, generation int64) Verdict {
	var status duckv1.Status
	if s, ok := obj.Object["status"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(s, &status)
	}
	v := Verdict{}
	if ready := status.GetCondition(apis.ConditionReady); ready != nil {
		v.Ready = *ready
	}
	switch {
	case status.ObservedGeneration < generation:
		v.Waiting = fmt.Sprintf("Knative has not reconciled generation %d yet (observed %d)", generation, status.ObservedGeneration)
	case v.Ready.Type == "":
		v.Waiting = "no Ready condition yet"
	case v.Ready.IsTrue():
		v.State = Ready
	case v.Ready.IsFalse() && obj.GetKind() == "Service" && v.Ready.Reason == "ConfigurationMissing":
		// A Service creates the Configuration its Route sends traffic to:
		// a Route that does not see it yet (its informer resyncing after an
		// API server restart) is converging, not failing.
		v.Waiting = v.describeReady()
	case v.Ready.IsFalse():
		v.State, v.Reason, v.Message = Failed, v.Ready.Reason, v.Ready.Message
		// Knative rolls failures up into Ready with a generic reason (a
		// Service whose revision cannot start is "RevisionMissing"), while
		// the failing sub-condition ("RevisionFailed: ... Unable to fetch
		// image") names the cause.
		for _, c := range status.Conditions {
			if c.Type != apis.ConditionReady && c.IsFalse() && c.Message != "" {
				v.Reason, v.Message = c.Reason, c.Message
				break
			}
		}
	default:
		v.Waiting = v.describeReady()
	}
	return v
}

func (v Verdict) describeReady() string {
	return fmt.Sprintf("Ready=%v %v: %v", v.Ready.Status, v.Ready.Reason, v.Ready.Message)
}

// Err is a *NotReadyError for a Failed verdict, naming the object's kind as
// messages do ("Knative Service"); nil otherwise.
func (v Verdict) Err(kindName string) error {
	if v.State != Failed {
		return nil
	}
	return &NotReadyError{Kind: kindName, Reason: v.Reason, Message: v.Message}
}

// NotReadyError is Knative's own verdict that an object failed.
type NotReadyError struct{ Kind, Reason, Message string }

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("Knative reports the %s is not ready: %s: %s", e.Kind, e.Reason, e.Message)
}
