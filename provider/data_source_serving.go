package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

type servingDataSource struct {
	data *ProviderData
}

var _ datasource.DataSourceWithConfigure = (*servingDataSource)(nil)

func newServingDataSource() datasource.DataSource { return &servingDataSource{} }

type servingDataSourceModel struct {
	ID         types.String `tfsdk:"id"`
	Installed  types.Bool   `tfsdk:"installed"`
	Version    types.String `tfsdk:"version"`
	Ingress    types.String `tfsdk:"ingress"`
	Class      types.String `tfsdk:"ingress_class"`
	Namespace  types.String `tfsdk:"namespace"`
	Ready      types.Bool   `tfsdk:"ready"`
	Components types.List   `tfsdk:"components"`
}

func (d *servingDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_serving"
}

func (d *servingDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Reports whether Knative Serving is installed on the cluster, which version, and with which networking layer.",
		Attributes: map[string]schema.Attribute{
			"id":        schema.StringAttribute{Computed: true, Description: "Always \"knative-serving\"."},
			"installed": schema.BoolAttribute{Computed: true, Description: "Whether Knative Serving's API (the services.serving.knative.dev CRD) is installed."},
			"version":   schema.StringAttribute{Computed: true, Description: "Installed Knative Serving version, such as 1.23.0; empty when not installed."},
			"ingress": schema.StringAttribute{Computed: true, Description: "Networking layer config-network names: kourier, istio, contour, " +
				"gateway-api, or external when it names the class of a layer this provider does not install; empty when not installed."},
			"ingress_class": schema.StringAttribute{Computed: true, Description: "Ingress class config-network names; empty when not installed."},
			"namespace":     schema.StringAttribute{Computed: true, Description: "Namespace the runtime runs in."},
			"ready":         schema.BoolAttribute{Computed: true, Description: "Whether every component of the runtime is available; false when not installed."},
			"components": schema.ListAttribute{
				ElementType: componentType, Computed: true,
				Description: "Readiness of each deployment of the runtime: name, namespace, ready and, when not ready, why. Empty when not installed or when the version is not one this provider installs.",
			},
		},
	}
}

func (d *servingDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *servingDataSource) Read(ctx context.Context, _ datasource.ReadRequest, resp *datasource.ReadResponse) {
	clients := d.data.clients(&resp.Diagnostics)
	if clients == nil {
		return
	}
	status, err := serving.Detect(ctx, clients)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the Knative Serving installation", err.Error())
		return
	}
	model := servingModel{}
	model.setObservation(&serving.Observation{}, serving.Spec{}, &resp.Diagnostics)
	if status.Installed && manifests.Supported(status.Version) {
		spec := serving.Spec{Version: status.Version, Ingress: status.Ingress}.WithDefaults()
		if spec.Ingress == serving.External {
			spec.External.Class = status.IngressClass
		}
		obs, err := (&serving.Installer{Clients: clients}).Observe(ctx, spec)
		if err != nil {
			resp.Diagnostics.AddError("Cannot read the Knative Serving installation", err.Error())
			return
		}
		model.setObservation(obs, spec, &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, servingDataSourceModel{
		ID:         types.StringValue(serving.Namespace),
		Installed:  types.BoolValue(status.Installed),
		Version:    types.StringValue(status.Version),
		Ingress:    types.StringValue(status.Ingress),
		Class:      types.StringValue(status.IngressClass),
		Namespace:  types.StringValue(serving.Namespace),
		Ready:      model.Ready,
		Components: model.Components,
	})...)
}
