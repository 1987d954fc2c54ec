package serving

import (
	"context"
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"knative.dev/pkg/apis"
)

// A dry-run apply (dryRun=All) sends an object through everything a real
// apply would: the API server's own checks, admission (Knative's webhook,
// ValidatingAdmissionPolicies, quotas) and storage validation, and persists
// nothing. It is how a plan learns what the cluster will say at apply.

// DryRunVerdict is the cluster's answer to a dry-run apply.
type DryRunVerdict struct {
	// Refused is the cluster's refusal, as a field error when the API server
	// named fields (its causes), or nil.
	Refused error
	// Warning is why the cluster could not judge the object now and apply
	// may still fail (a namespace that does not exist yet, a webhook that
	// cannot be reached); empty when it judged it.
	Warning string
	// Skipped is why there was nothing to judge against: the cluster cannot
	// be reached or does not serve the kind yet (Knative Serving installed in
	// the same apply). A plan goes on without a word.
	Skipped string
}

// DryRunApply judges obj as Apply would write it, without writing it.
func (o Objects) DryRunApply(ctx context.Context, obj *unstructured.Unstructured) DryRunVerdict {
	_, err := o.resource(obj.GetNamespace()).Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{
		FieldManager: o.Clients.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
	if err == nil {
		return DryRunVerdict{}
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return DryRunVerdict{Skipped: "the cluster cannot be reached: " + err.Error()}
	}
	s := status.Status()
	switch {
	case apierrors.IsNotFound(err) && s.Details != nil && s.Details.Kind == "namespaces":
		return DryRunVerdict{Warning: fmt.Sprintf("the namespace %q does not exist yet: the apply fails unless something in it creates the namespace first", obj.GetNamespace())}
	case apierrors.IsNotFound(err):
		return DryRunVerdict{Skipped: o.Kind.Name + " is not served by the cluster yet"}
	case strings.Contains(s.Message, "failed calling webhook"):
		return DryRunVerdict{Warning: "the cluster could not judge it: " + s.Message}
	case apierrors.IsServerTimeout(err) || apierrors.IsTimeout(err) || apierrors.IsTooManyRequests(err) ||
		apierrors.IsServiceUnavailable(err) || apierrors.IsInternalError(err):
		return DryRunVerdict{Warning: "the cluster could not judge it: " + s.Message}
	}
	return DryRunVerdict{Refused: statusFieldError(s)}
}

// statusFieldError is a refusal as a field error: one per cause that names a
// field, so the frontends report it at the attribute.
func statusFieldError(s metav1.Status) error {
	var fe *apis.FieldError
	if s.Details != nil {
		for _, c := range s.Details.Causes {
			if c.Field != "" {
				fe = fe.Also(&apis.FieldError{Message: c.Message, Paths: []string{c.Field}})
			}
		}
	}
	if fe == nil {
		fe = webhookFieldErrors(s.Message)
	}
	if fe == nil {
		return errors.New(s.Message)
	}
	return fe
}

// knativeDenial is how Knative's webhook words a refusal; the API server
// puts it after `admission webhook "..." denied the request: `.
const knativeDenial = "validation failed: "

// webhookFieldErrors reads the field errors back out of a refusal by
// Knative's webhook, which the API server passes on as text only (no
// causes): each line is apis.FieldError's "message: path, path", followed by
// its details. Each keeps the words before it (which webhook refused), so the
// refusal still says who refused. Nil when the message is not Knative's.
func webhookFieldErrors(message string) *apis.FieldError {
	i := strings.Index(message, knativeDenial)
	if i < 0 {
		return nil
	}
	who := strings.TrimSuffix(strings.TrimSpace(message[:i]), ":")
	var fe *apis.FieldError
	var last *apis.FieldError
	for _, line := range strings.Split(message[i+len(knativeDenial):], "\n") {
		msg, paths, ok := cutFieldPaths(line)
		if !ok {
			if last != nil && strings.TrimSpace(line) != "" {
				last.Details = strings.TrimSpace(last.Details + " " + line)
			}
			continue
		}
		if who != "" {
			msg = who + ": " + msg
		}
		if last != nil {
			fe = fe.Also(last)
		}
		last = &apis.FieldError{Message: msg, Paths: paths}
	}
	if last != nil {
		fe = fe.Also(last)
	}
	return fe
}

// cutFieldPaths splits "message: spec.a, metadata.b" at its last ": ", when
// what follows is a list of field paths.
func cutFieldPaths(line string) (message string, paths []string, ok bool) {
	i := strings.LastIndex(line, ": ")
	if i < 0 {
		return "", nil, false
	}
	for _, p := range strings.Split(line[i+2:], ", ") {
		if !isFieldPath(p) {
			return "", nil, false
		}
		paths = append(paths, p)
	}
	return line[:i], paths, true
}

func isFieldPath(p string) bool {
	if !strings.HasPrefix(p, "spec.") && !strings.HasPrefix(p, "metadata.") && p != "spec" && p != "metadata" {
		return false
	}
	return !strings.ContainsAny(p, " \t")
}
