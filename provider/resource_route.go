package provider

import (
	"context"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"knative.dev/pkg/apis"

	tfresource "github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

const (
	routeCreateTimeout = 5 * time.Minute
	routeUpdateTimeout = 5 * time.Minute
	routeDeleteTimeout = 5 * time.Minute
)

type routeResource struct {
	data *ProviderData
}

var (
	_ tfresource.ResourceWithConfigure      = (*routeResource)(nil)
	_ tfresource.ResourceWithImportState    = (*routeResource)(nil)
	_ tfresource.ResourceWithValidateConfig = (*routeResource)(nil)
	_ tfresource.ResourceWithModifyPlan     = (*routeResource)(nil)
)

func newRouteResource() tfresource.Resource { return &routeResource{} }

type routeModel struct {
	ID            types.String        `tfsdk:"id"`
	Name          types.String        `tfsdk:"name"`
	Namespace     types.String        `tfsdk:"namespace"`
	Labels        types.Map           `tfsdk:"labels"`
	Annotations   types.Map           `tfsdk:"annotations"`
	Traffic       []routeTrafficModel `tfsdk:"traffic"`
	ClusterLocal  types.Bool          `tfsdk:"cluster_local"`
	WaitForReady  types.Bool          `tfsdk:"wait_for_ready"`
	Timeouts      timeoutsValue       `tfsdk:"timeouts"`
	TrafficStatus types.List          `tfsdk:"traffic_status"`

	readyStatusModel
}

// routeTrafficModel is a Service's traffic target plus the Configuration
// whose latest revision it may follow.
type routeTrafficModel struct {
	trafficModel
	ConfigurationName types.String `tfsdk:"configuration_name"`
}

func (r *routeResource) Metadata(_ context.Context, req tfresource.MetadataRequest, resp *tfresource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_route"
}

func (r *routeResource) Schema(ctx context.Context, _ tfresource.SchemaRequest, resp *tfresource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A Knative Route of its own: a URL that splits traffic between revisions, or follows the latest " +
			"revision of a Configuration (a knative_service's Configuration has the Service's name), beside the route " +
			"the Service itself has. Only the fields and the label and annotation keys set here are managed. Create and " +
			"update wait until the Route is Ready and fail with Knative's own reason.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, Description: "namespace/name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, Description: "Name of the Route; not the name of a Knative Service in the namespace (that one is the Service's own).",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"namespace": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("default"),
				Description:   "Namespace of the Route and of the revisions it routes to. Default \"default\".",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"labels":      optMap("Labels of the Route. Only these keys are managed."),
			"annotations": optMap("Annotations of the Route, such as serving.knative.dev/rollout-duration. Only these keys are managed."),
			"traffic": schema.ListNestedAttribute{
				Required:    true,
				Description: "Traffic split: each target names exactly one of revision_name or configuration_name; percents sum to 100.",
				Validators:  []validator.List{listvalidator.SizeAtLeast(1)},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"revision_name":      optString("A named revision."),
					"configuration_name": optString("A Configuration, whose latest ready revision receives the traffic."),
					"latest_revision":    schema.BoolAttribute{Optional: true, Description: "With configuration_name: follow its latest ready revision (Knative's default for a Configuration)."},
					"percent":            schema.Int64Attribute{Optional: true, Description: "Share of traffic.", Validators: []validator.Int64{int64validator.Between(0, 100)}},
					"tag":                optString("Tag: the target gets its own URL."),
				}},
			},
			"cluster_local": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				Description: "Reachable only inside the cluster (networking.knative.dev/visibility=cluster-local)."},
			"wait_for_ready": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "Wait until the Route is Ready after create and update. Default true."},
			trafficStatusAttribute.name: computedAttribute(trafficStatusAttribute.typ, trafficStatusAttribute.description),
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
	for _, a := range readyStatusAttributes("Route") {
		resp.Schema.Attributes[a.name] = computedAttribute(a.typ, a.description)
	}
}

func (r *routeResource) Configure(_ context.Context, req tfresource.ConfigureRequest, resp *tfresource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig runs Knative's own defaulting and validation of the Route at
// plan time: one of revision or configuration per target, percents summing to
// 100, unique tags, valid names.
func (r *routeResource) ValidateConfig(ctx context.Context, req tfresource.ValidateConfigRequest, resp *tfresource.ValidateConfigResponse) {
	if !req.Config.Raw.IsFullyKnown() {
		return
	}
	var m routeModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if m.Namespace.IsNull() {
		m.Namespace = types.StringValue("default")
	}
	if err := serving.ValidateRoute(apis.WithinCreate(ctx), m.toObject(ctx).Object); err != nil {
		addKnativeErrors(ctx, &resp.Diagnostics, req.Config, routeFields, "Invalid Knative Route", "Knative's validation rejects this Route", err)
	}
}

// routeStatus: as a Service's (serviceStatus), without revisions of its own.
var routeStatus = func() statusDependencies {
	reconciled := []string{"traffic", "labels", "annotations", "cluster_local"}
	return statusDependencies{
		"url":                 {"labels", "annotations", "cluster_local"},
		"address_url":         {"labels", "annotations", "cluster_local"},
		"traffic_status":      reconciled,
		"observed_generation": {"traffic"},
		"ready":               reconciled,
		"conditions":          reconciled,
	}
}()

func (r *routeResource) lifecycle() lifecycle {
	return lifecycle{kind: serving.Route, data: r.data, typeName: "knative_route", example: "default/preview", status: routeStatus}
}

// ModifyPlan keeps the status values an update cannot change and judges the
// change with a dry-run apply.
func (r *routeResource) ModifyPlan(ctx context.Context, req tfresource.ModifyPlanRequest, resp *tfresource.ModifyPlanResponse) {
	r.lifecycle().modifyPlan(ctx, req, resp, &routeModel{}, routeFields)
}

func (m *routeModel) common() *objectCommon {
	return &objectCommon{ID: &m.ID, Namespace: m.Namespace, Name: m.Name, WaitForReady: m.WaitForReady}
}

func (r *routeResource) Create(ctx context.Context, req tfresource.CreateRequest, resp *tfresource.CreateResponse) {
	var plan routeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	timeout, diags := plan.Timeouts.Create(ctx, routeCreateTimeout)
	resp.Diagnostics.Append(diags...)
	if !resp.Diagnostics.HasError() {
		r.lifecycle().converge(ctx, timeout, true, &plan, &resp.State, resp.Private, &resp.Diagnostics, nil)
	}
}

func (r *routeResource) Update(ctx context.Context, req tfresource.UpdateRequest, resp *tfresource.UpdateResponse) {
	var plan routeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	timeout, diags := plan.Timeouts.Update(ctx, routeUpdateTimeout)
	resp.Diagnostics.Append(diags...)
	if !resp.Diagnostics.HasError() {
		r.lifecycle().converge(ctx, timeout, false, &plan, &resp.State, resp.Private, &resp.Diagnostics, nil)
	}
}

func (r *routeResource) Read(ctx context.Context, req tfresource.ReadRequest, resp *tfresource.ReadResponse) {
	l := r.lifecycle()
	live := l.readChanged(ctx, req, resp)
	if live == nil {
		return
	}
	var state routeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	l.refresh(ctx, &state, live, state.Traffic == nil)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	l.recordObserved(ctx, resp.Private, &state, live, &resp.Diagnostics)
}

func (r *routeResource) Delete(ctx context.Context, req tfresource.DeleteRequest, resp *tfresource.DeleteResponse) {
	var state routeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	timeout, diags := state.Timeouts.Delete(ctx, routeDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	if !resp.Diagnostics.HasError() {
		r.lifecycle().delete(ctx, timeout, &state, &resp.Diagnostics)
	}
}

// ImportState takes namespace/name.
func (r *routeResource) ImportState(ctx context.Context, req tfresource.ImportStateRequest, resp *tfresource.ImportStateResponse) {
	r.lifecycle().importState(ctx, req, resp, map[string]any{"cluster_local": false})
}

// toObject is the Route with only what the user set.
func (m *routeModel) toObject(ctx context.Context) *unstructured.Unstructured {
	meta := map[string]any{"name": m.Name.ValueString(), "namespace": m.Namespace.ValueString()}
	putMap(meta, "labels", withVisibility(stringMap(ctx, m.Labels), m.ClusterLocal))
	putMap(meta, "annotations", stringMap(ctx, m.Annotations))
	traffic := make([]any, 0, len(m.Traffic))
	for _, t := range m.Traffic {
		target := t.toObject()
		putString(target, "configurationName", t.ConfigurationName)
		traffic = append(traffic, target)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Route", "metadata": meta, "spec": map[string]any{"traffic": traffic},
	}}
}

// fromObject reads back what obj (the live Route projected onto what the user
// set, or all of it on import) holds.
func (m *routeModel) fromObject(obj map[string]any) {
	meta, _ := obj["metadata"].(map[string]any)
	labels := mapOf(meta, "labels")
	m.ClusterLocal = visibilityFrom(labels)
	m.Labels = keepNullIfEmpty(m.Labels, labels)
	m.Annotations = keepNullIfEmpty(m.Annotations, mapOf(meta, "annotations"))
	spec, _ := obj["spec"].(map[string]any)
	items, _ := spec["traffic"].([]any)
	m.Traffic = []routeTrafficModel{}
	for _, item := range items {
		t, _ := item.(map[string]any)
		m.Traffic = append(m.Traffic, routeTrafficModel{trafficModelFrom(t), stringFrom(t, "configurationName")})
	}
}

func (m *routeModel) setStatus(live *unstructured.Unstructured) {
	m.setReadyStatus(live)
	status, _ := live.Object["status"].(map[string]any)
	m.TrafficStatus = trafficStatusOf(status)
}
