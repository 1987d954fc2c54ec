package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// serviceDataSource reads a Knative Service, managed by Terraform or not:
// its URL and revisions for other resources and outputs.
type serviceDataSource struct {
	data *ProviderData
}

var _ datasource.DataSourceWithConfigure = (*serviceDataSource)(nil)

func newServiceDataSource() datasource.DataSource { return &serviceDataSource{} }

type serviceDataSourceModel struct {
	ID          types.String `tfsdk:"id"`
	Name        types.String `tfsdk:"name"`
	Namespace   types.String `tfsdk:"namespace"`
	Labels      types.Map    `tfsdk:"labels"`
	Annotations types.Map    `tfsdk:"annotations"`
	Images      types.List   `tfsdk:"images"`
	serviceStatusModel
}

func (d *serviceDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service"
}

func (d *serviceDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Reads a Knative Service (managed by Terraform or not): its URL, revisions and readiness. Fails when it does not exist.",
		Attributes: map[string]schema.Attribute{
			"id":          schema.StringAttribute{Computed: true, Description: "namespace/name."},
			"name":        schema.StringAttribute{Required: true, Description: "Name of the Service."},
			"namespace":   schema.StringAttribute{Optional: true, Description: "Namespace of the Service. Default \"default\"."},
			"labels":      schema.MapAttribute{ElementType: types.StringType, Computed: true, Description: "Labels of the Service."},
			"annotations": schema.MapAttribute{ElementType: types.StringType, Computed: true, Description: "Annotations of the Service."},
			"images":      schema.ListAttribute{ElementType: types.StringType, Computed: true, Description: "Images of the template's containers, as the Service specifies them."},
		},
	}
	for _, a := range serviceStatusAttributes {
		resp.Schema.Attributes[a.name] = computedDataSourceAttribute(a.typ, a.description)
	}
}

// computedDataSourceAttribute is a data source attribute only the cluster sets.
func computedDataSourceAttribute(typ attr.Type, description string) schema.Attribute {
	switch typ := typ.(type) {
	case types.ListType:
		return schema.ListAttribute{ElementType: typ.ElemType, Computed: true, Description: description}
	case basetypes.Int64Type:
		return schema.Int64Attribute{Computed: true, Description: description}
	case basetypes.BoolType:
		return schema.BoolAttribute{Computed: true, Description: description}
	}
	return schema.StringAttribute{Computed: true, Description: description}
}

func (d *serviceDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *serviceDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m serviceDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	_, live := readService(ctx, d.data, m.Namespace, m.Name, &resp.Diagnostics)
	if live == nil {
		return
	}
	m.ID = types.StringValue(live.GetNamespace() + "/" + live.GetName())
	m.Namespace = types.StringValue(live.GetNamespace())
	m.Labels = keepNullIfEmpty(types.MapValueMust(types.StringType, nil), live.GetLabels())
	m.Annotations = keepNullIfEmpty(types.MapValueMust(types.StringType, nil), live.GetAnnotations())
	containers, _, _ := unstructured.NestedSlice(live.Object, "spec", "template", "spec", "containers")
	images := make([]attr.Value, 0, len(containers))
	for _, c := range containers {
		images = append(images, stringOrEmpty(c.(map[string]any), "image"))
	}
	m.Images = types.ListValueMust(types.StringType, images)
	m.setStatus(live)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// readService gets the Service a data source names, and the clients it used; a nil Service with an error when it cannot be read or does not exist.
func readService(ctx context.Context, data *ProviderData, namespace, name types.String, diags *diag.Diagnostics) (*kube.Clients, *unstructured.Unstructured) {
	clients := data.clients(diags)
	if clients == nil {
		return nil, nil
	}
	ns := namespace.ValueString()
	if ns == "" {
		ns = "default"
	}
	live, err := serving.Service.On(clients).Get(ctx, ns, name.ValueString())
	if err != nil {
		diags.AddError("Reading the Knative Service failed", err.Error())
		return nil, nil
	}
	if live == nil {
		diags.AddError("Knative Service not found", fmt.Sprintf("There is no Knative Service %s/%s.", ns, name.ValueString()))
	}
	return clients, live
}
