package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	knserving "knative.dev/serving/pkg/apis/serving"

	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// revisionsDataSource lists the revisions of a Service with what each one
// runs and how much traffic it gets: for rollbacks and audits.
type revisionsDataSource struct {
	data *ProviderData
}

var _ datasource.DataSourceWithConfigure = (*revisionsDataSource)(nil)

func newRevisionsDataSource() datasource.DataSource { return &revisionsDataSource{} }

type revisionsDataSourceModel struct {
	ID        types.String `tfsdk:"id"`
	Service   types.String `tfsdk:"service"`
	Namespace types.String `tfsdk:"namespace"`
	Revisions types.List   `tfsdk:"revisions"`
}

var revisionType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"name": types.StringType, "generation": types.Int64Type, "ready": types.BoolType, "reason": types.StringType,
	"message": types.StringType, "image": types.StringType, "image_digest": types.StringType,
	"traffic_percent": types.Int64Type, "tags": types.ListType{ElemType: types.StringType}, "created": types.StringType,
}}

func (d *revisionsDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_revisions"
}

func (d *revisionsDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Lists the revisions of a Knative Service, oldest first, with the image each runs and the traffic each gets.",
		Attributes: map[string]schema.Attribute{
			"id":        schema.StringAttribute{Computed: true, Description: "namespace/service."},
			"service":   schema.StringAttribute{Required: true, Description: "Name of the Service."},
			"namespace": schema.StringAttribute{Optional: true, Description: "Namespace of the Service. Default \"default\"."},
			"revisions": schema.ListAttribute{ElementType: revisionType, Computed: true, Description: "The revisions: name, generation " +
				"(of the Service's template), ready, reason and message (when not ready), image (as specified), image_digest (image@sha256:... as " +
				"Knative resolved the tag; empty for registries listed in config-deployment's registries-skipping-tag-resolving), traffic_percent, tags, created (RFC 3339)."},
		},
	}
}

func (d *revisionsDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

func (d *revisionsDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m revisionsDataSourceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	clients, svc := readService(ctx, d.data, m.Namespace, m.Service, &resp.Diagnostics)
	if svc == nil {
		return
	}
	revisions, err := serving.Revisions(ctx, clients, svc.GetNamespace(), svc.GetName())
	if err != nil {
		resp.Diagnostics.AddError("Listing the Knative Service's revisions failed", err.Error())
		return
	}

	// Traffic per revision, as Knative routes it (latestRevision targets resolved).
	percent, tags := map[string]int64{}, map[string][]attr.Value{}
	traffic, _, _ := unstructured.NestedSlice(svc.Object, "status", "traffic")
	for _, item := range traffic {
		t, _ := item.(map[string]any)
		name, _ := t["revisionName"].(string)
		if p := intFrom(t, "percent"); !p.IsNull() {
			percent[name] += p.ValueInt64()
		}
		if tag, ok := t["tag"].(string); ok {
			tags[name] = append(tags[name], types.StringValue(tag))
		}
	}

	items := make([]attr.Value, 0, len(revisions))
	for i := range revisions {
		r := &revisions[i]
		verdict := serving.Judge(r, 0) // a revision's own verdict, whatever generation it is at
		image, digest := servingContainerImage(r)
		generation := parseInt64(r.GetLabels()[knserving.ConfigurationGenerationLabelKey])
		items = append(items, types.ObjectValueMust(revisionType.AttrTypes, map[string]attr.Value{
			"name": types.StringValue(r.GetName()), "generation": generation, "ready": types.BoolValue(verdict.State == serving.Ready),
			"reason": types.StringValue(verdict.Ready.Reason), "message": types.StringValue(verdict.Ready.Message),
			"image": types.StringValue(image), "image_digest": types.StringValue(digest),
			"traffic_percent": types.Int64Value(percent[r.GetName()]),
			"tags":            types.ListValueMust(types.StringType, append([]attr.Value{}, tags[r.GetName()]...)),
			"created":         types.StringValue(r.GetCreationTimestamp().UTC().Format(time.RFC3339)),
		}))
	}
	m.ID = types.StringValue(svc.GetNamespace() + "/" + svc.GetName())
	m.Namespace = types.StringValue(svc.GetNamespace())
	m.Revisions = types.ListValueMust(revisionType, items)
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// servingContainerImage is the image of the container that serves requests
// (the one with a port, or the only one) and the digest Knative resolved.
func servingContainerImage(revision *unstructured.Unstructured) (image, digest string) {
	containers, _, _ := unstructured.NestedSlice(revision.Object, "spec", "containers")
	var name string
	for _, item := range containers {
		c, _ := item.(map[string]any)
		if _, hasPort := c["ports"]; hasPort || len(containers) == 1 {
			image, _ = c["image"].(string)
			name, _ = c["name"].(string)
			break
		}
	}
	statuses, _, _ := unstructured.NestedSlice(revision.Object, "status", "containerStatuses")
	for _, item := range statuses {
		s, _ := item.(map[string]any)
		if s["name"] == name {
			digest, _ = s["imageDigest"].(string)
		}
	}
	return image, digest
}
