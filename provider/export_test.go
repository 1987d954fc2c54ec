package provider

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/path"
	fwprovider "github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	tfresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// Hooks for the benchmarks, which call the provider as terraform's gRPC calls
// reach it, with clients of their own.

// ProtocolServerFor is the provider's protocol 6 server (what terraform talks
// to, minus the gRPC transport), configured with clients once ConfigureProvider
// is called with any configuration.
func ProtocolServerFor(clients *kube.Clients) tfprotov6.ProviderServer {
	p := &preconfiguredProvider{knativeProvider: knativeProvider{version: benchVersion}}
	p.data = &ProviderData{Clients: kube.ReadyClients(clients), Version: benchVersion}
	return newServer(&p.knativeProvider, providerserver.NewProtocol6(p)())
}

type preconfiguredProvider struct {
	knativeProvider
	data *ProviderData
}

func (p *preconfiguredProvider) Configure(_ context.Context, _ fwprovider.ConfigureRequest, resp *fwprovider.ConfigureResponse) {
	resp.ResourceData, resp.DataSourceData = p.data, p.data
	p.configured.Store(p.data)
}

// EmptyProviderConfig is a provider configuration with every attribute null.
func EmptyProviderConfig() (*tfprotov6.DynamicValue, error) {
	var s fwprovider.SchemaResponse
	(&knativeProvider{}).Schema(context.Background(), fwprovider.SchemaRequest{}, &s)
	typ := s.Schema.Type().TerraformType(context.Background()).(tftypes.Object)
	attributes := map[string]tftypes.Value{}
	for name, t := range typ.AttributeTypes {
		attributes[name] = tftypes.NewValue(t, nil)
	}
	value := tftypes.NewValue(typ, attributes)
	dv, err := tfprotov6.NewDynamicValue(typ, value)
	return &dv, err
}

// MinimalServicePlan is the plan of a minimal Service like the quickstart's,
// and the object the resource applies for it.
func MinimalServicePlan(name string) (tfsdk.Plan, map[string]any, error) {
	return ServicePlan(name, "kind.local/hello:v1")
}

// ServicePlan is MinimalServicePlan with another image.
func ServicePlan(name, image string) (tfsdk.Plan, map[string]any, error) {
	ctx := context.Background()
	var s tfresource.SchemaResponse
	(&serviceResource{}).Schema(ctx, tfresource.SchemaRequest{}, &s)
	plan := tfsdk.Plan{Schema: s.Schema, Raw: tftypes.NewValue(s.Schema.Type().TerraformType(ctx), nil)}
	template := fromKube(templateAttribute().GetType(), map[string]any{
		"containers": []any{map[string]any{"image": image}},
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

// FrameworkOf is the plugin framework's server behind the provider's server,
// without its shortcuts.
func FrameworkOf(s tfprotov6.ProviderServer) tfprotov6.ProviderServer {
	return s.(*server).ProviderServer
}

// benchVersion is the version of the servers ProtocolServerFor returns.
const benchVersion = "bench"

// WithValidatedConfig is private as an apply by a ProtocolServerFor server
// that found config valid leaves it.
func WithValidatedConfig(private []byte, typeName string, config *tfprotov6.DynamicValue) []byte {
	entry, _ := json.Marshal(validatedConfig{Digest: configurationDigest(typeName, config), Build: buildOf(benchVersion)})
	data, _ := withPrivateEntry(private, validatedConfigKey, entry)
	return data
}

// ProtocolServerWithPlanChecksFor is ProtocolServerFor with the plan-time
// checks on the cluster on (plan_dry_run).
func ProtocolServerWithPlanChecksFor(clients *kube.Clients) tfprotov6.ProviderServer {
	p := &preconfiguredProvider{knativeProvider: knativeProvider{version: benchVersion}}
	p.data = &ProviderData{Clients: kube.ReadyClients(clients), Version: benchVersion, PlanDryRun: true}
	return newServer(&p.knativeProvider, providerserver.NewProtocol6(p)())
}
