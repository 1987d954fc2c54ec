package controller_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
)

// TestExamplesDecode reads every object of examples/crossplane strictly into
// the provider's types (and Crossplane's package types for install.yaml and
// the DeploymentRuntimeConfig), so an example with a misspelled or removed
// field fails here rather than in a user's cluster.
func TestExamplesDecode(t *testing.T) {
	files, err := filepath.Glob("../../examples/crossplane/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples in examples/crossplane: %v", err)
	}
	kinds := map[string]bool{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(data), "\n---\n") {
			obj := acctest.Decode(t, doc)
			kinds[obj.GetObjectKind().GroupVersionKind().Kind] = true
		}
	}
	for _, kind := range []string{"ClusterProviderConfig", "ProviderConfig", "ServingRuntime", "ServingConfig", "Service", "Route", "DomainMapping",
		"Provider", "Function", "DeploymentRuntimeConfig"} {
		if !kinds[kind] {
			t.Errorf("examples/crossplane has no %s", kind)
		}
	}
}
