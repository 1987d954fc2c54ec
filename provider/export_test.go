package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	tfresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// Hooks for the benchmarks, which call knative_service's CRUD directly.

// ServiceResourceFor is the knative_service resource, configured with clients.
func ServiceResourceFor(clients *kube.Clients) tfresource.Resource {
	return &serviceResource{data: &ProviderData{Clients: kube.ReadyClients(clients)}}
}

// MinimalServicePlan is the plan of a minimal Service like the quickstart's,
// and the object the resource applies for it.
func MinimalServicePlan(name string) (tfsdk.Plan, map[string]any, error) {
	ctx := context.Background()
	var s tfresource.SchemaResponse
	(&serviceResource{}).Schema(ctx, tfresource.SchemaRequest{}, &s)
	plan := tfsdk.Plan{Schema: s.Schema, Raw: tftypes.NewValue(s.Schema.Type().TerraformType(ctx), nil)}
	template := fromKube(templateAttribute().GetType(), map[string]any{
		"containers": []any{map[string]any{"image": "kind.local/hello:v1"}},
	}, nil)
	for attribute, value := range map[string]any{
		"name": name, "namespace": "default", "template": template, "wait_for_ready": true, "cluster_local": false,
	} {
		if diags := plan.SetAttribute(ctx, path.Root(attribute), value); diags.HasError() {
			return plan, nil, fmt.Errorf("%v", diags)
		}
	}
	var m serviceModel
	if diags := plan.Get(ctx, &m); diags.HasError() {
		return plan, nil, fmt.Errorf("%v", diags)
	}
	return plan, m.toObject(ctx).Object, nil
}
