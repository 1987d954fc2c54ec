package serving

import (
	"errors"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
)

func TestStatusFieldError(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status metav1.Status
		// want is "message @ paths (details)" per error, in apis.FieldError's
		// order (by message), or the plain text.
		want []string
	}{
		{"causes with fields (the API server's own validation)", metav1.Status{Message: "Service is invalid",
			Details: &metav1.StatusDetails{Causes: []metav1.StatusCause{{Field: "metadata.labels", Message: "Invalid value"}}}},
			[]string{"Invalid value @ metadata.labels"}},
		{"Knative's webhook", metav1.Status{Message: `admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: expected 0 <= 300 <= 100: spec.template.spec.timeoutSeconds`},
			[]string{`admission webhook "validation.webhook.serving.knative.dev" denied the request: expected 0 <= 300 <= 100 @ spec.template.spec.timeoutSeconds`}},
		{"Knative's webhook, two errors and details", metav1.Status{Message: `admission webhook "validation.webhook.serving.knative.dev" denied the request: validation failed: must not set the field(s): spec.template.spec.containers[0].stdin, spec.template.spec.containers[0].tty
invalid value: 1: spec.template.spec.containerConcurrency
this is the detail`},
			[]string{
				`admission webhook "validation.webhook.serving.knative.dev" denied the request: invalid value: 1 @ spec.template.spec.containerConcurrency (this is the detail)`,
				`admission webhook "validation.webhook.serving.knative.dev" denied the request: must not set the field(s) @ spec.template.spec.containers[0].stdin, spec.template.spec.containers[0].tty`,
			}},
		{"an admission policy without a field", metav1.Status{Message: `services.serving.knative.dev "x" is forbidden: ValidatingAdmissionPolicy 'team' denied request: Knative Services need a team label`},
			[]string{`services.serving.knative.dev "x" is forbidden: ValidatingAdmissionPolicy 'team' denied request: Knative Services need a team label`}},
		{"a webhook message that names no field", metav1.Status{Message: `admission webhook "x" denied the request: validation failed: something: not a path`},
			[]string{`admission webhook "x" denied the request: validation failed: something: not a path`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := statusFieldError(tc.status)
			var got []string
			if fe := (*apis.FieldError)(nil); errors.As(err, &fe) {
				for _, e := range fe.WrappedErrors() {
					s := e.Message + " @ " + strings.Join(e.Paths, ", ")
					if e.Details != "" {
						s += " (" + e.Details + ")"
					}
					got = append(got, s)
				}
			} else {
				got = []string{err.Error()}
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
