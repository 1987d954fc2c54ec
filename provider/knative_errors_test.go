package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/path"
)

func TestKnativeFieldsCandidates(t *testing.T) {
	for _, tc := range []struct {
		fields knativeFields
		field  string
		want   []path.Path
	}{
		{serviceFields, "spec.template.spec.containers[0].readinessProbe.httpGet.port",
			[]path.Path{path.Root("template").AtName("containers").AtListIndex(0).AtName("readiness_probe").AtName("http_get").AtName("port")}},
		{serviceFields, "spec.template.metadata.name", []path.Path{path.Root("template").AtName("name")}},
		{serviceFields, "spec.template.metadata.annotations.autoscaling.knative.dev/min-scale", []path.Path{
			path.Root("template").AtName("scaling").AtName("min_scale"),
			path.Root("template").AtName("annotations").AtMapKey("autoscaling.knative.dev/min-scale")}},
		{serviceFields, "spec.template.metadata.labels.app", []path.Path{path.Root("template").AtName("labels").AtMapKey("app")}},
		{serviceFields, "metadata.annotations.serving.knative.dev/rollout-duration", []path.Path{
			path.Root("rollout_duration"), path.Root("annotations").AtMapKey("serving.knative.dev/rollout-duration")}},
		{serviceFields, "metadata.labels.networking.knative.dev/visibility", []path.Path{
			path.Root("cluster_local"), path.Root("labels").AtMapKey("networking.knative.dev/visibility")}},
		{serviceFields, "metadata.name", []path.Path{path.Root("name")}},
		{serviceFields, "spec.traffic[1].revisionName", []path.Path{path.Root("traffic").AtListIndex(1).AtName("revision_name")}},
		{routeFields, "spec.traffic[0].configurationName", []path.Path{path.Root("traffic").AtListIndex(0).AtName("configuration_name")}},
		{domainMappingFields, "spec.ref.apiVersion", []path.Path{path.Root("ref").AtName("api_version")}},
		{domainMappingFields, "spec.tls.secretName", []path.Path{path.Root("tls").AtName("secret_name")}},
		{serviceFields, "spec.template.spec.containers[0].resources.limits.cpu",
			[]path.Path{path.Root("template").AtName("containers").AtListIndex(0).AtName("resources").AtName("limits").AtMapKey("cpu")}},
		{serviceFields, "status", nil},
	} {
		got := tc.fields.candidates(tc.field)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.field, got, tc.want)
			continue
		}
		for i := range got {
			if !got[i].Equal(tc.want[i]) {
				t.Errorf("%s: %v, want %v", tc.field, got, tc.want)
			}
		}
	}
}
