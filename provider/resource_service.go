package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"knative.dev/pkg/apis"

	tfresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

const (
	serviceCreateTimeout = 10 * time.Minute
	serviceUpdateTimeout = 10 * time.Minute
	serviceDeleteTimeout = 5 * time.Minute
)

type serviceResource struct {
	data *ProviderData
}

var (
	_ tfresource.ResourceWithConfigure      = (*serviceResource)(nil)
	_ tfresource.ResourceWithImportState    = (*serviceResource)(nil)
	_ tfresource.ResourceWithModifyPlan     = (*serviceResource)(nil)
	_ tfresource.ResourceWithValidateConfig = (*serviceResource)(nil)
)

func newServiceResource() tfresource.Resource { return &serviceResource{} }

var (
	trafficStatusType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"revision_name": types.StringType, "percent": types.Int64Type, "tag": types.StringType,
		"url": types.StringType, "latest_revision": types.BoolType,
	}}
	conditionType = types.ObjectType{AttrTypes: map[string]attr.Type{
		"type": types.StringType, "status": types.StringType, "reason": types.StringType, "message": types.StringType,
	}}
)

func (r *serviceResource) Metadata(_ context.Context, req tfresource.MetadataRequest, resp *tfresource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_service"
}

func (r *serviceResource) Schema(ctx context.Context, _ tfresource.SchemaRequest, resp *tfresource.SchemaResponse) {
	str := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Description: desc}
	}
	num := func(desc string, min int64) schema.Int64Attribute {
		return schema.Int64Attribute{Optional: true, Description: desc, Validators: []validator.Int64{int64validator.AtLeast(min)}}
	}
	strMap := func(desc string) schema.MapAttribute {
		return schema.MapAttribute{ElementType: types.StringType, Optional: true, Description: desc}
	}
	strList := func(desc string) schema.ListAttribute {
		return schema.ListAttribute{ElementType: types.StringType, Optional: true, Description: desc}
	}
	keyRef := func(desc string) schema.SingleNestedAttribute {
		return schema.SingleNestedAttribute{Optional: true, Description: desc, Attributes: map[string]schema.Attribute{
			"name": schema.StringAttribute{Required: true, Description: "Name of the object."},
			"key":  schema.StringAttribute{Required: true, Description: "Key in the object's data."},
		}}
	}
	computedString := func(desc string) schema.StringAttribute {
		return schema.StringAttribute{Computed: true, Description: desc}
	}

	resp.Schema = schema.Schema{
		Description: "A Knative Service: a revision template and the traffic between its revisions. Only the fields and " +
			"the label and annotation keys set here are managed (server-side apply): defaults Knative's webhook adds " +
			"and annotations other writers set are never a diff. Create and update wait until the Service is Ready and " +
			"fail with Knative's own reason when a revision fails.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, Description: "namespace/name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, Description: "Name of the Service.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"namespace": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("default"),
				Description: "Namespace of the Service. Default \"default\".", PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"labels":      strMap("Labels of the Service. Only these keys are managed."),
			"annotations": strMap("Annotations of the Service. Only these keys are managed; keys Knative adds (serving.knative.dev/creator, lastModifier) are not."),
			"template": schema.SingleNestedAttribute{
				Required: true, Description: "The revision template: every change creates a new revision.",
				Attributes: map[string]schema.Attribute{
					"name": str("Name of the revision this template creates; must start with the Service's name and a dash. " +
						"When set, change it with every template change (a revision name cannot be reused)."),
					"labels":                strMap("Labels of the revisions."),
					"annotations":           strMap("Annotations of the revisions. Use scaling for autoscaling.knative.dev keys."),
					"service_account_name":  str("Service account the revision's pods run as."),
					"container_concurrency": num("Maximum concurrent requests per container; 0 (Knative's default) means unlimited.", 0),
					"timeout_seconds":       num("Maximum duration of a request in seconds.", 1),
					"containers": schema.ListNestedAttribute{
						Required: true, Description: "Containers of the revision; exactly one of them serves requests (has a port or is alone).",
						Validators: []validator.List{listvalidator.SizeAtLeast(1)},
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"name":        str("Container name; Knative names a lone container user-container."),
							"image":       schema.StringAttribute{Required: true, Description: "Image; Knative resolves tags to digests (registries listed in config-deployment's registries-skipping-tag-resolving are not resolved)."},
							"command":     strList("Entrypoint."),
							"args":        strList("Arguments."),
							"working_dir": str("Working directory."),
							"env": schema.ListNestedAttribute{Optional: true, Description: "Environment variables.",
								NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
									"name":  schema.StringAttribute{Required: true, Description: "Variable name."},
									"value": str("Value."),
									"value_from": schema.SingleNestedAttribute{Optional: true, Description: "Value from a Secret or ConfigMap key.",
										Attributes: map[string]schema.Attribute{
											"secret_key_ref":     keyRef("A key of a Secret."),
											"config_map_key_ref": keyRef("A key of a ConfigMap."),
										}},
								}}},
							"ports": schema.ListNestedAttribute{Optional: true, Description: "The port the container serves on (one at most).",
								Validators: []validator.List{listvalidator.SizeAtMost(1)},
								NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
									"name": schema.StringAttribute{Optional: true, Description: "Protocol: http1 (default) or h2c (HTTP/2 cleartext, gRPC).",
										Validators: []validator.String{stringvalidator.OneOf("http1", "h2c")}},
									"container_port": schema.Int64Attribute{Required: true, Description: "Port number.",
										Validators: []validator.Int64{int64validator.Between(1, 65535)}},
								}}},
							"resources": schema.SingleNestedAttribute{Optional: true, Description: "Compute resources.",
								Attributes: map[string]schema.Attribute{
									"limits":   strMap("Limits, such as { cpu = \"1\", memory = \"512Mi\" }."),
									"requests": strMap("Requests."),
								}},
							"readiness_probe": schema.SingleNestedAttribute{Optional: true, Description: "Readiness probe (Knative's queue-proxy runs it).",
								Attributes: map[string]schema.Attribute{
									"http_get": schema.SingleNestedAttribute{Optional: true, Description: "HTTP GET probe.", Attributes: map[string]schema.Attribute{
										"path": str("Path."), "port": num("Port; defaults to the serving port.", 0),
									}},
									"tcp_socket": schema.SingleNestedAttribute{Optional: true, Description: "TCP probe.", Attributes: map[string]schema.Attribute{
										"port": num("Port; defaults to the serving port.", 0),
									}},
									"initial_delay_seconds": num("Delay before the first probe.", 0),
									"period_seconds":        num("Interval; 0 makes the queue-proxy probe aggressively until ready.", 0),
									"timeout_seconds":       num("Timeout of one probe.", 1),
									"failure_threshold":     num("Failures before unready.", 1),
								}},
						}},
					},
					"scaling": schema.SingleNestedAttribute{
						Optional:    true,
						Description: "Autoscaling of the revisions (autoscaling.knative.dev annotations).",
						Attributes: map[string]schema.Attribute{
							"min_scale":                     num("Minimum replicas; 0 allows scale to zero.", 0),
							"max_scale":                     num("Maximum replicas; 0 means unlimited.", 0),
							"initial_scale":                 num("Replicas when a revision is created.", 0),
							"activation_scale":              num("Replicas when scaling from zero.", 1),
							"target":                        num("Target value of the metric per replica.", 1),
							"target_utilization_percentage": num("Percentage of the target at which to scale.", 1),
							"metric":                        str("concurrency, rps, cpu or memory (cpu and memory need class hpa.autoscaling.knative.dev)."),
							"class":                         str("kpa.autoscaling.knative.dev (default) or hpa.autoscaling.knative.dev."),
							"window":                        str("Stable window, such as 60s."),
							"scale_down_delay":              str("Delay before scaling down, such as 15m."),
						},
					},
				},
			},
			"traffic": schema.ListNestedAttribute{
				Optional:    true,
				Description: "Traffic split. Default: all traffic to the latest ready revision.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"revision_name":   str("A named revision."),
					"latest_revision": schema.BoolAttribute{Optional: true, Description: "Send to the latest ready revision."},
					"percent":         schema.Int64Attribute{Optional: true, Description: "Share of traffic.", Validators: []validator.Int64{int64validator.Between(0, 100)}},
					"tag":             str("Tag: the target gets its own URL."),
				}},
			},
			"cluster_local": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				Description: "Reachable only inside the cluster (networking.knative.dev/visibility=cluster-local)."},
			"rollout_duration": str("Gradual rollout of new revisions, such as 380s (serving.knative.dev/rollout-duration)."),
			"wait_for_ready": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "Wait until the Service is Ready after create and update. Default true."},

			"url":                          computedString("URL of the Service."),
			"address_url":                  computedString("Address inside the cluster."),
			"latest_created_revision_name": computedString("Latest revision created."),
			"latest_ready_revision_name":   computedString("Latest revision that became ready."),
			"observed_generation":          schema.Int64Attribute{Computed: true, Description: "Generation Knative last reconciled."},
			"ready":                        schema.BoolAttribute{Computed: true, Description: "Whether the Service is Ready."},
			"traffic_status": schema.ListAttribute{ElementType: trafficStatusType, Computed: true,
				Description: "Traffic as Knative routes it: revision_name, percent, tag, url, latest_revision."},
			"conditions": schema.ListAttribute{ElementType: conditionType, Computed: true,
				Description: "Knative's conditions: type, status, reason, message."},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *serviceResource) Configure(_ context.Context, req tfresource.ConfigureRequest, resp *tfresource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig runs Knative's own defaulting and validation on the Service
// the configuration describes, at plan time, when every value is known.
func (r *serviceResource) ValidateConfig(ctx context.Context, req tfresource.ValidateConfigRequest, resp *tfresource.ValidateConfigResponse) {
	if !req.Config.Raw.IsFullyKnown() {
		return
	}
	var m serviceModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.Template == nil {
		return
	}
	if m.Namespace.IsNull() {
		m.Namespace = types.StringValue("default")
	}
	if m.Template.Scaling != nil {
		for key := range stringMap(ctx, m.Template.Annotations) {
			if strings.HasPrefix(key, "autoscaling.knative.dev/") {
				resp.Diagnostics.AddAttributeError(path.Root("template").AtName("annotations").AtMapKey(key), "Conflicting scaling settings",
					"Set autoscaling either with template.scaling or with autoscaling.knative.dev annotations, not both.")
			}
		}
	}
	obj := m.toObject(ctx)
	if err := serving.ValidateService(apis.WithinCreate(ctx), obj.Object); err != nil {
		resp.Diagnostics.AddError("Invalid Knative Service", "Knative's validation rejects this Service: "+err.Error())
	}
}

// ModifyPlan refuses a changed template that keeps its explicit revision name:
// Knative cannot create a second revision with the same name.
func (r *serviceResource) ModifyPlan(ctx context.Context, req tfresource.ModifyPlanRequest, resp *tfresource.ModifyPlanResponse) {
	// The plan of an update always has unknown computed values; what matters
	// is that the configured template is known.
	if req.Plan.Raw.IsNull() || req.State.Raw.IsNull() || !req.Config.Raw.IsFullyKnown() {
		return
	}
	var plan, state serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || plan.Template == nil || state.Template == nil {
		return
	}
	name := plan.Template.Name
	if !known(name) || !name.Equal(state.Template.Name) {
		return
	}
	if !reflect.DeepEqual(normalized(plan.Template.toObject(ctx)), normalized(state.Template.toObject(ctx))) {
		resp.Diagnostics.AddAttributeError(path.Root("template").AtName("name"), "Revision name reused",
			fmt.Sprintf("The template changes but its revision name stays %q, and Knative cannot create a second revision with the same name. "+
				"Give template.name a new value with every template change, or remove it to let Knative name revisions.", name.ValueString()))
	}
}

// normalized makes two objects comparable: JSON numbers, no revision name.
func normalized(template map[string]any) any {
	if meta, ok := template["metadata"].(map[string]any); ok {
		delete(meta, "name")
	}
	data, _ := json.Marshal(template)
	var out any
	_ = json.Unmarshal(data, &out)
	return out
}

func (r *serviceResource) Create(ctx context.Context, req tfresource.CreateRequest, resp *tfresource.CreateResponse) {
	var plan serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	timeout, diags := plan.Timeouts.Create(ctx, serviceCreateTimeout)
	resp.Diagnostics.Append(diags...)
	r.applyAndWait(ctx, timeout, true, &plan, &resp.State, &resp.Diagnostics)
}

func (r *serviceResource) Update(ctx context.Context, req tfresource.UpdateRequest, resp *tfresource.UpdateResponse) {
	var plan serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	timeout, diags := plan.Timeouts.Update(ctx, serviceUpdateTimeout)
	resp.Diagnostics.Append(diags...)
	r.applyAndWait(ctx, timeout, false, &plan, &resp.State, &resp.Diagnostics)
}

// applyAndWait applies the Service and waits for Knative's verdict. The
// Service is recorded in state even when it fails, so the user can fix forward.
func (r *serviceResource) applyAndWait(ctx context.Context, timeout time.Duration, creating bool, plan *serviceModel, state *tfsdk.State, diags *diag.Diagnostics) {
	services := r.services(diags)
	if diags.HasError() || services == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if creating {
		if err := services.PrepareCreate(ctx, plan.Namespace.ValueString(), plan.Name.ValueString()); err != nil {
			diags.AddError("Cannot create the Knative Service", err.Error())
			return
		}
	}
	applied, err := services.Apply(ctx, plan.toObject(ctx))
	if err != nil {
		diags.AddError("Applying the Knative Service failed", err.Error())
		return
	}
	live := applied
	if plan.WaitForReady.ValueBool() {
		var waited *unstructured.Unstructured
		waited, err = services.WaitReady(ctx, applied.GetNamespace(), applied.GetName(), applied.GetGeneration())
		if waited != nil {
			live = waited
		}
	}
	plan.ID = types.StringValue(applied.GetNamespace() + "/" + applied.GetName())
	plan.setStatus(live)
	diags.Append(state.Set(ctx, plan)...)
	if err != nil {
		var notReady *serving.NotReadyError
		if errors.As(err, &notReady) {
			diags.AddError("Knative Service failed: "+notReady.Reason, notReady.Message)
		} else {
			diags.AddError("Waiting for the Knative Service failed", err.Error())
		}
	}
}

func (r *serviceResource) Read(ctx context.Context, req tfresource.ReadRequest, resp *tfresource.ReadResponse) {
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	services := r.services(&resp.Diagnostics)
	if resp.Diagnostics.HasError() || services == nil {
		return
	}
	live, err := services.Get(ctx, state.Namespace.ValueString(), state.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Reading the Knative Service failed", err.Error())
		return
	}
	if live == nil {
		resp.State.RemoveResource(ctx)
		return
	}
	var prior serviceModel // a separate copy: fromObject rewrites the nested models in place
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	if state.Template == nil {
		// Imported: adopt what is set, minus what Knative's webhook defaults.
		state.fromObject(withoutDefaults(live.Object))
	} else {
		projected, _ := serving.Project(state.toObject(ctx).Object, live.Object).(map[string]any)
		state.fromObject(projected)
		keepEquivalentQuantities(&prior, &state)
	}
	state.ID = types.StringValue(live.GetNamespace() + "/" + live.GetName())
	state.setStatus(live)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *serviceResource) Delete(ctx context.Context, req tfresource.DeleteRequest, resp *tfresource.DeleteResponse) {
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	timeout, diags := state.Timeouts.Delete(ctx, serviceDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	services := r.services(&resp.Diagnostics)
	if resp.Diagnostics.HasError() || services == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := services.Delete(ctx, state.Namespace.ValueString(), state.Name.ValueString()); err != nil {
		resp.Diagnostics.AddError("Deleting the Knative Service failed", err.Error())
	}
}

// ImportState takes namespace/name.
func (r *serviceResource) ImportState(ctx context.Context, req tfresource.ImportStateRequest, resp *tfresource.ImportStateResponse) {
	namespace, name, ok := strings.Cut(req.ID, "/")
	if !ok || namespace == "" || name == "" || strings.Contains(name, "/") {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("Import a knative_service as namespace/name, such as default/hello; got %q.", req.ID))
		return
	}
	for attribute, value := range map[string]any{"namespace": namespace, "name": name, "wait_for_ready": true, "cluster_local": false} {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attribute), value)...)
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("timeouts"), timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{
		"create": types.StringType, "update": types.StringType, "delete": types.StringType})})...)
}

func (r *serviceResource) services(diags *diag.Diagnostics) *serving.Services {
	clients := r.data.clients(diags)
	if clients == nil {
		return nil
	}
	return &serving.Services{Clients: clients}
}

// setStatus fills the computed attributes from the live Service.
func (m *serviceModel) setStatus(live *unstructured.Unstructured) {
	status, _ := live.Object["status"].(map[string]any)
	m.URL = stringOrEmpty(status, "url")
	address, _ := status["address"].(map[string]any)
	m.AddressURL = stringOrEmpty(address, "url")
	m.LatestCreatedRevisionName = stringOrEmpty(status, "latestCreatedRevisionName")
	m.LatestReadyRevisionName = stringOrEmpty(status, "latestReadyRevisionName")
	m.ObservedGeneration = intFrom(status, "observedGeneration")
	if m.ObservedGeneration.IsNull() {
		m.ObservedGeneration = types.Int64Value(0)
	}
	readyStatus, _, _ := serving.ReadyCondition(live)
	m.Ready = types.BoolValue(readyStatus == "True")

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
	m.TrafficStatus = types.ListValueMust(trafficStatusType, traffic)

	var conditions []attr.Value
	items, _ = status["conditions"].([]any)
	for _, item := range items {
		c, _ := item.(map[string]any)
		conditions = append(conditions, types.ObjectValueMust(conditionType.AttrTypes, map[string]attr.Value{
			"type": stringOrEmpty(c, "type"), "status": stringOrEmpty(c, "status"),
			"reason": stringOrEmpty(c, "reason"), "message": stringOrEmpty(c, "message"),
		}))
	}
	m.Conditions = types.ListValueMust(conditionType, conditions)
}

func stringOrEmpty(m map[string]any, key string) types.String {
	if s, ok := m[key].(string); ok {
		return types.StringValue(s)
	}
	return types.StringValue("")
}

// keepEquivalentQuantities keeps the user's spelling of a resource quantity
// when the API server stored an equal one ("1000m" is stored as "1").
func keepEquivalentQuantities(prior, current *serviceModel) {
	if prior.Template == nil || current.Template == nil {
		return
	}
	for i := range current.Template.Containers {
		if i >= len(prior.Template.Containers) || prior.Template.Containers[i].Resources == nil || current.Template.Containers[i].Resources == nil {
			continue
		}
		p, c := prior.Template.Containers[i].Resources, current.Template.Containers[i].Resources
		c.Limits = preferPrior(p.Limits, c.Limits)
		c.Requests = preferPrior(p.Requests, c.Requests)
	}
}

func preferPrior(prior, current types.Map) types.Map {
	if !known(prior) || !known(current) {
		return current
	}
	out := map[string]attr.Value{}
	for k, v := range current.Elements() {
		out[k] = v
		pv, ok := prior.Elements()[k].(types.String)
		cv, _ := v.(types.String)
		if !ok {
			continue
		}
		a, errA := resource.ParseQuantity(pv.ValueString())
		b, errB := resource.ParseQuantity(cv.ValueString())
		if errA == nil && errB == nil && a.Cmp(b) == 0 {
			out[k] = pv
		}
	}
	return types.MapValueMust(types.StringType, out)
}

// withoutDefaults is a live Service minus what Knative's webhook and
// controllers set on their own, for adoption on import.
func withoutDefaults(live map[string]any) map[string]any {
	obj := map[string]any{}
	data, _ := json.Marshal(live)
	_ = json.Unmarshal(data, &obj)
	delete(obj, "status")
	meta, _ := obj["metadata"].(map[string]any)
	trimSystemKeys(meta)
	spec, _ := obj["spec"].(map[string]any)
	if traffic, ok := spec["traffic"].([]any); ok && len(traffic) == 1 {
		if t, _ := traffic[0].(map[string]any); t["latestRevision"] == true && fmt.Sprint(t["percent"]) == "100" && len(t) == 2 {
			delete(spec, "traffic")
		}
	}
	tmpl, _ := spec["template"].(map[string]any)
	tmeta, _ := tmpl["metadata"].(map[string]any)
	trimSystemKeys(tmeta)
	tspec, _ := tmpl["spec"].(map[string]any)
	if fmt.Sprint(tspec["containerConcurrency"]) == "0" {
		delete(tspec, "containerConcurrency")
	}
	if fmt.Sprint(tspec["timeoutSeconds"]) == "300" {
		delete(tspec, "timeoutSeconds")
	}
	containers, _ := tspec["containers"].([]any)
	for _, item := range containers {
		c, _ := item.(map[string]any)
		if c["name"] == "user-container" {
			delete(c, "name")
		}
		if res, ok := c["resources"].(map[string]any); ok && len(res) == 0 {
			delete(c, "resources")
		}
		if probe, ok := c["readinessProbe"].(map[string]any); ok {
			socket, _ := probe["tcpSocket"].(map[string]any)
			if len(probe) == 2 && fmt.Sprint(probe["successThreshold"]) == "1" && len(socket) == 1 && fmt.Sprint(socket["port"]) == "0" {
				delete(c, "readinessProbe")
			}
		}
	}
	return obj
}

func trimSystemKeys(meta map[string]any) {
	for _, field := range []string{"labels", "annotations"} {
		m, _ := meta[field].(map[string]any)
		for k := range m {
			if strings.HasPrefix(k, "serving.knative.dev/") && k != "serving.knative.dev/rollout-duration" ||
				k == "kubectl.kubernetes.io/last-applied-configuration" {
				delete(m, k)
			}
		}
		if len(m) == 0 {
			delete(meta, field)
		}
	}
}
