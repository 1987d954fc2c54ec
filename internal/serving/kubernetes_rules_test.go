package serving

import (
	"context"
	"errors"
	"strings"
	"testing"

	"knative.dev/pkg/apis"
)

func service(mutate func(meta, podSpec map[string]any)) map[string]any {
	meta := map[string]any{"name": "hello", "namespace": "default"}
	container := map[string]any{"image": "kind.local/hello"}
	podSpec := map[string]any{"containers": []any{container}}
	mutate(meta, podSpec)
	return map[string]any{"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": meta,
		"spec": map[string]any{"template": map[string]any{"spec": podSpec}}}
}

func container(podSpec map[string]any) map[string]any {
	return podSpec["containers"].([]any)[0].(map[string]any)
}

// TestKubernetesRules: what the API server or a revision's Deployment would
// refuse and Knative's validation lets through fails at its field path.
func TestKubernetesRules(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(meta, podSpec map[string]any)
		path   string
		rule   string
	}{
		{"name not a DNS-1035 label", func(m, _ map[string]any) { m["name"] = "1hello" }, "metadata.name", "DNS-1035 label"},
		{"namespace not a DNS label", func(m, _ map[string]any) { m["namespace"] = "Default_NS" }, "metadata.namespace", "RFC 1123 label"},
		{"bad label value", func(m, _ map[string]any) { m["labels"] = map[string]any{"team": "a b"} }, "metadata.labels", "a valid label must"},
		{"bad annotation key", func(m, _ map[string]any) { m["annotations"] = map[string]any{"a b": "x"} }, "metadata.annotations", "name part must consist"},
		{"env name with =", func(_, p map[string]any) { container(p)["env"] = []any{map[string]any{"name": "A=B", "value": "1"}} },
			"spec.template.spec.containers[0].env[0].name", "'='"},
		{"secret key ref of a bad name", func(_, p map[string]any) {
			container(p)["env"] = []any{map[string]any{"name": "A", "valueFrom": map[string]any{"secretKeyRef": map[string]any{"name": "My_Secret", "key": "k"}}}}
		}, "spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name", "RFC 1123 subdomain"},
		{"bad quantity", func(_, p map[string]any) {
			container(p)["resources"] = map[string]any{"limits": map[string]any{"cpu": "lots"}}
		},
			"spec.template.spec.containers[0].resources.limits.cpu", "Kubernetes quantity"},
		{"port out of range", func(_, p map[string]any) {
			container(p)["ports"] = []any{map[string]any{"containerPort": int64(70000)}}
		},
			"spec.template.spec.containers[0].ports[0].containerPort", "between 1 and 65535"},
		{"image pull secret of a bad name", func(_, p map[string]any) { p["imagePullSecrets"] = []any{map[string]any{"name": "-x"}} },
			"spec.template.spec.imagePullSecrets[0].name", "RFC 1123 subdomain"},
		{"volume secret of a bad name", func(_, p map[string]any) {
			p["volumes"] = []any{map[string]any{"name": "data", "secret": map[string]any{"secretName": "UPPER"}}}
			container(p)["volumeMounts"] = []any{map[string]any{"name": "data", "mountPath": "/data", "readOnly": true}}
		}, "spec.template.spec.volumes[0].secret.secretName", "RFC 1123 subdomain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateService(apis.WithinCreate(context.Background()), service(tc.mutate), EveryFeatureEnabled())
			var fe *apis.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a field error at %s, got %v", tc.path, err)
			}
			for _, e := range fe.WrappedErrors() {
				for _, p := range e.Paths {
					if p == tc.path && strings.Contains(e.Message+e.Details, tc.rule) {
						return
					}
				}
			}
			t.Errorf("no error at %s saying %q in:\n%v", tc.path, tc.rule, err)
		})
	}
	if err := ValidateService(apis.WithinCreate(context.Background()), service(func(_, _ map[string]any) {}), EveryFeatureEnabled()); err != nil {
		t.Errorf("a valid Service: %v", err)
	}
}

// TestIneffectiveConfigValues: a value Knative's parser reads as the default
// (a misspelt flag) is reported; a value that changes something is not.
func TestIneffectiveConfigValues(t *testing.T) {
	got := IneffectiveConfigValues("features", map[string]string{
		"kubernetes.podspec-affinity": "enabeld", "kubernetes.podspec-tolerations": "enabled"})
	if len(got) != 1 || got[0] != "kubernetes.podspec-affinity" {
		t.Errorf("features: %v, want the misspelt flag only", got)
	}
	if got := IneffectiveConfigValues("autoscaler", map[string]string{"max-scale": "10"}); len(got) != 0 {
		t.Errorf("autoscaler max-scale 10 changes the max scale, reported as ineffective: %v", got)
	}
	if err := ValidateConfig("features", map[string]string{"kubernetes.podspec-affinity": "enabeld"}); err == nil {
		t.Error("a misspelt feature flag passes validation")
	}
	if err := ValidateConfig("domain", map[string]string{"example com": ""}); err == nil {
		t.Error("a domain key that is no domain passes validation")
	}
}
