package serving

import (
	"context"
	"strings"
	"testing"

	apisconfig "knative.dev/serving/pkg/apis/config"
)

func TestValidateServiceWithFeatureFlags(t *testing.T) {
	svc := map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Service",
		"metadata": map[string]any{"name": "hello", "namespace": "default"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers":   []any{map[string]any{"image": "kind.local/hello:v1"}},
			"nodeSelector": map[string]any{"kubernetes.io/os": "linux"},
		}}},
	}
	ctx := context.Background()
	err := ValidateService(ctx, svc, nil)
	if err == nil || !strings.Contains(err.Error(), "must not set the field(s): spec.template.spec.nodeSelector") {
		t.Fatalf("with Knative's default flags: got %v, want the node selector refused", err)
	}
	if err := ValidateService(ctx, svc, EveryFeatureEnabled()); err != nil {
		t.Fatalf("with every flag enabled: %v", err)
	}
	enabled, err := apisconfig.NewFeaturesConfigFromMap(map[string]string{"kubernetes.podspec-nodeselector": "enabled"})
	if err != nil {
		t.Fatal(err)
	}
	if err := ValidateService(ctx, svc, enabled); err != nil {
		t.Fatalf("with the cluster's flag enabled: %v", err)
	}

	// Every flag enabled still refuses what is invalid whatever the flags.
	spec := svc["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	spec["containers"] = []any{map[string]any{"image": "kind.local/hello:v1", "volumeMounts": []any{map[string]any{"name": "data", "mountPath": "/data"}}}}
	if err := ValidateService(ctx, svc, EveryFeatureEnabled()); err == nil || !strings.Contains(err.Error(), "volumeMount has no matching volume") {
		t.Fatalf("a mount of no volume: got %v", err)
	}
	if EveryFeatureEnabled().SecurePodDefaults != apisconfig.Disabled {
		t.Fatal("EveryFeatureEnabled changes secure-pod-defaults, which changes defaults rather than allowing fields")
	}
}
