package apis

import (
	"os"
	"slices"
	"testing"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

// TestServingRuntimeEnumsMatchTheEmbeddedReleases: the ServingRuntime CRD's
// version and ingress enums and defaults are kubebuilder markers, written by
// hand; they must be the releases and layers the engine embeds (and
// external), as knative_serving's validators are (built from
// manifests.Versions() and serving.IngressNames()).
func TestServingRuntimeEnumsMatchTheEmbeddedReleases(t *testing.T) {
	data, err := os.ReadFile("../package/crds/serving.knative.m.crossplane.io_servingruntimes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	forProvider := crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties["forProvider"].Properties
	for field, want := range map[string]struct {
		values []string
		def    string
	}{
		"version": {manifests.Versions(), manifests.DefaultVersion},
		"ingress": {serving.IngressNames(), manifests.DefaultIngress},
	} {
		prop := forProvider[field]
		var got []string
		for _, v := range prop.Enum {
			var s string
			if err := yaml.Unmarshal(v.Raw, &s); err != nil {
				t.Fatal(err)
			}
			got = append(got, s)
		}
		if !slices.Equal(got, want.values) {
			t.Errorf("forProvider.%s enum %v, want the embedded %v (servingruntime_types.go's kubebuilder marker)", field, got, want.values)
		}
		if prop.Default == nil || string(prop.Default.Raw) != `"`+want.def+`"` {
			t.Errorf("forProvider.%s default %v, want %q", field, prop.Default, want.def)
		}
	}
}
