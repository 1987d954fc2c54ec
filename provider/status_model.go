package provider

import (
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// readyStatusModel is what Knative reports about an addressable object with a
// Ready condition: Services, Routes and DomainMappings.
type readyStatusModel struct {
	URL                types.String `tfsdk:"url"`
	AddressURL         types.String `tfsdk:"address_url"`
	ObservedGeneration types.Int64  `tfsdk:"observed_generation"`
	Ready              types.Bool   `tfsdk:"ready"`
	Conditions         types.List   `tfsdk:"conditions"`
}

// statusAttribute describes a computed status attribute, for the schemas.
type statusAttribute struct {
	name, description string
	typ               attr.Type
}

// readyStatusAttributes describe readyStatusModel's attributes for an object of kind.
func readyStatusAttributes(kind string) []statusAttribute {
	return []statusAttribute{
		{"url", "URL of the " + kind + ".", types.StringType},
		{"address_url", "Address inside the cluster.", types.StringType},
		{"observed_generation", "Generation Knative last reconciled.", types.Int64Type},
		{"ready", "Whether the " + kind + " is Ready: Knative's Ready condition, for the current generation.", types.BoolType},
		{"conditions", "Knative's conditions: type, status, reason, message.", types.ListType{ElemType: conditionType}},
	}
}

// setReadyStatus fills the attributes from the live object.
func (m *readyStatusModel) setReadyStatus(live *unstructured.Unstructured) {
	status, _ := live.Object["status"].(map[string]any)
	m.URL = stringOrEmpty(status, "url")
	address, _ := status["address"].(map[string]any)
	m.AddressURL = stringOrEmpty(address, "url")
	m.ObservedGeneration = intFrom(status, "observedGeneration")
	if m.ObservedGeneration.IsNull() {
		m.ObservedGeneration = types.Int64Value(0)
	}
	// Ready for the object as it is now: a Ready condition Knative set for an
	// earlier generation says nothing about the current one.
	m.Ready = types.BoolValue(serving.Judge(live, live.GetGeneration()).State == serving.Ready)
	m.Conditions = conditionsOf(status)
}

// conditionsOf is the conditions of a Knative object's status.
func conditionsOf(status map[string]any) types.List {
	var conditions []attr.Value
	items, _ := status["conditions"].([]any)
	for _, item := range items {
		c, _ := item.(map[string]any)
		conditions = append(conditions, types.ObjectValueMust(conditionType.AttrTypes, map[string]attr.Value{
			"type": stringOrEmpty(c, "type"), "status": stringOrEmpty(c, "status"),
			"reason": stringOrEmpty(c, "reason"), "message": stringOrEmpty(c, "message"),
		}))
	}
	return types.ListValueMust(conditionType, conditions)
}

// trafficStatusOf is the traffic a Service or Route routes, as its status says.
func trafficStatusOf(status map[string]any) types.List {
	var traffic []attr.Value
	items, _ := status["traffic"].([]any)
	for _, item := range items {
		t, _ := item.(map[string]any)
		latest := boolFrom(t, "latestRevision")
		if latest.IsNull() {
			latest = types.BoolValue(false)
		}
		percent := intFrom(t, "percent")
		if percent.IsNull() {
			percent = types.Int64Value(0)
		}
		traffic = append(traffic, types.ObjectValueMust(trafficStatusType.AttrTypes, map[string]attr.Value{
			"revision_name": stringOrEmpty(t, "revisionName"), "percent": percent, "tag": stringOrEmpty(t, "tag"),
			"url": stringOrEmpty(t, "url"), "latest_revision": latest,
		}))
	}
	return types.ListValueMust(trafficStatusType, traffic)
}
