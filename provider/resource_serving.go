package provider

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

const (
	servingCreateTimeout = 20 * time.Minute
	servingUpdateTimeout = 20 * time.Minute
	servingDeleteTimeout = 10 * time.Minute
	// maxDriftLines keeps a plan readable when much has drifted.
	maxDriftLines = 25
)

// imageTemplatePattern: a registry.default template must name the container.
var imageTemplatePattern = regexp.MustCompile(`^[^\s]*\$\{NAME\}[^\s]*$`)

type servingResource struct {
	data *ProviderData
}

var (
	_ resource.ResourceWithConfigure      = (*servingResource)(nil)
	_ resource.ResourceWithImportState    = (*servingResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*servingResource)(nil)
	_ resource.ResourceWithValidateConfig = (*servingResource)(nil)
)

func newServingResource() resource.Resource { return &servingResource{} }

type servingModel struct {
	ID                   types.String   `tfsdk:"id"`
	Version              types.String   `tfsdk:"version"`
	Ingress              types.String   `tfsdk:"ingress"`
	ExternalIngress      *externalModel `tfsdk:"external_ingress"`
	HighAvailability     *haModel       `tfsdk:"high_availability"`
	Registry             *registryModel `tfsdk:"registry"`
	WaitForReady         types.Bool     `tfsdk:"wait_for_ready"`
	DeleteKnativeObjects types.Bool     `tfsdk:"delete_knative_objects"`
	InstalledVersion     types.String   `tfsdk:"installed_version"`
	IngressClass         types.String   `tfsdk:"ingress_class"`
	Ready                types.Bool     `tfsdk:"ready"`
	Components           types.List     `tfsdk:"components"`
	Drift                types.List     `tfsdk:"drift"`
	Timeouts             timeouts.Value `tfsdk:"timeouts"`
}

type haModel struct {
	Replicas types.Int64 `tfsdk:"replicas"`
}

type externalModel struct {
	Class    types.String `tfsdk:"class"`
	Services types.List   `tfsdk:"services"`
}

type registryModel struct {
	Default  types.String `tfsdk:"default"`
	Override types.Map    `tfsdk:"override"`
}

var componentType = types.ObjectType{AttrTypes: map[string]attr.Type{
	"name": types.StringType, "namespace": types.StringType, "ready": types.BoolType, "message": types.StringType,
}}

func (r *servingResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_serving"
}

func (r *servingResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Installs, upgrades and removes the Knative Serving runtime (CRDs, controllers, webhook, " +
			"and the networking layer, Kourier by default) from release manifests embedded in the provider, so it works air-gapped. Create returns once " +
			"the runtime is usable: CRDs established, deployments available, webhook serving. Refresh detects " +
			"runtime objects that were deleted or changed and plans their repair, naming them in `drift`.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, Description: "Always \"knative-serving\", the runtime's namespace.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"version": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(manifests.DefaultVersion),
				Description: fmt.Sprintf("Knative Serving version to install. One of %s; default %s. Upgrades go one minor "+
					"version at a time; downgrades are refused.", strings.Join(manifests.Versions(), ", "), manifests.DefaultVersion),
				Validators: []validator.String{stringvalidator.OneOf(manifests.Versions()...)},
			},
			"ingress": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(manifests.DefaultIngress),
				Description: "Networking layer Knative routes traffic through: \"kourier\" (default, self-contained), \"istio\" " +
					"(needs Istio with its istio-system/istio-ingressgateway), \"contour\" (needs Contour with the Envoy Services " +
					"contour-external/envoy and contour-internal/envoy), \"gateway-api\" (needs the Gateway API CRDs and an " +
					"implementation with the Gateways and Services config-gateway names, by default Istio's) or \"external\" (a " +
					"layer you install, such as Traefik's Knative provider, Kong, Ambassador or Gloo: nothing of a layer is " +
					"installed, config-network names the class external_ingress gives). The prerequisites are " +
					"checked before anything is written. Changing it switches layers in place: the new layer is installed, " +
					"config-network names it once it runs, and the old layer is removed once the new one serves every route.",
				Validators: []validator.String{stringvalidator.OneOf(serving.IngressNames()...)},
			},
			"external_ingress": schema.SingleNestedAttribute{
				Optional: true,
				Description: "The networking layer you install, when ingress is \"external\" (required then, refused otherwise). " +
					"Its controller must serve the KIngresses of class; changing class switches layers in place as ingress does.",
				Attributes: map[string]schema.Attribute{
					"class": schema.StringAttribute{
						Required: true,
						Description: "Ingress class the layer's controller serves, set as config-network's ingress-class, such as " +
							"\"traefik.ingress.networking.knative.dev\". A DNS subdomain; by convention it ends in \"" + serving.ClassSuffix +
							"\" (a class that does not is warned about, not refused: Kong's is \"kong\"). The classes of the layers this " +
							"provider installs are refused: use their ingress instead.",
						Validators: []validator.String{externalClassValidator{}},
					},
					"services": schema.ListAttribute{
						ElementType: types.StringType, Optional: true,
						Description: "The layer's proxy Services as namespace/name, such as \"traefik/traefik\": they must exist before " +
							"Knative Serving uses the layer, checked at plan (when the cluster can be reached) and before anything is written.",
						Validators: []validator.List{listvalidator.UniqueValues(), listvalidator.ValueStringsAre(serviceKeyValidator{})},
					},
				},
			},
			"high_availability": schema.SingleNestedAttribute{
				Optional:    true,
				Description: "Run every control plane component with several replicas (leader election spreads the work).",
				Attributes: map[string]schema.Attribute{
					"replicas": schema.Int64Attribute{
						Required: true, Description: "Replicas of each control plane deployment (minimum of the autoscaled ones).",
						Validators: []validator.Int64{int64validator.Between(1, 10)},
					},
				},
			},
			"registry": schema.SingleNestedAttribute{
				Optional: true,
				Description: "Rewrites image references for mirrored or air-gapped registries, like the Knative Operator's " +
					"spec.registry. Each image of the release has a name: for Knative Serving's own containers the container's " +
					"name (controller, webhook, autoscaler, activator, and queue-proxy for the sidecar, rewritten in " +
					"config-deployment too); for a networking layer's the Deployment's name (net-kourier-controller, " +
					"3scale-kourier-gateway, net-istio-controller, net-istio-webhook, net-contour-controller, " +
					"net-gateway-api-controller, net-gateway-api-webhook), as the layers reuse the names controller and webhook " +
					"for images of their own. Distinct images so get distinct references.",
				Attributes: map[string]schema.Attribute{
					"default": schema.StringAttribute{
						Optional: true,
						Description: "Image template for every image; ${NAME} is replaced by the image's name (see registry). " +
							"In HCL write it as $${NAME}, for example \"registry.example.com/knative/$${NAME}:v1.23.0\".",
						Validators: []validator.String{stringvalidator.RegexMatches(imageTemplatePattern, "must be an image reference that contains ${NAME} (written $${NAME} in HCL)")},
					},
					"override": schema.MapAttribute{
						ElementType: types.StringType, Optional: true,
						Description: "Images by name (such as \"controller\", \"queue-proxy\" or \"net-kourier-controller\"; see registry) " +
							"or by \"deployment/container\" (such as \"3scale-kourier-gateway/kourier-gateway\"); wins over default.",
					},
				},
			},
			"wait_for_ready": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "Wait until the runtime is usable after create and update. Default true.",
			},
			"delete_knative_objects": schema.BoolAttribute{
				Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				Description: "On destroy, delete users' Knative Services, Routes and DomainMappings with the runtime. " +
					"Default false: destroy refuses and lists them while they exist.",
			},
			"installed_version": schema.StringAttribute{Computed: true, Description: "Version found on the cluster."},
			"ingress_class": schema.StringAttribute{Computed: true, Description: "Ingress class set in config-network: the layer's, or external_ingress.class.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"ready": schema.BoolAttribute{Computed: true, Description: "Whether every component is available."},
			"components": schema.ListAttribute{
				ElementType: componentType, Computed: true,
				Description: "Readiness of each deployment of the runtime: name, namespace, ready and, when not ready, why.",
			},
			"drift": schema.ListAttribute{
				ElementType: types.StringType, Computed: true,
				Description: "What refresh found changed or missing on the cluster; apply repairs it. Empty when the runtime matches.",
			},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *servingResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig checks that external_ingress is given exactly when ingress
// is "external".
func (r *servingResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var ingress types.String
	var external types.Object
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("ingress"), &ingress)...)
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("external_ingress"), &external)...)
	if resp.Diagnostics.HasError() || ingress.IsUnknown() || external.IsUnknown() {
		return
	}
	switch isExternal := ingress.ValueString() == serving.External; {
	case isExternal && external.IsNull():
		resp.Diagnostics.AddAttributeError(path.Root("external_ingress"), "Missing external_ingress",
			`ingress = "external" routes traffic through a networking layer you install: external_ingress is required with it, `+
				`naming the layer's ingress class and, to check they exist, its proxy Services, such as `+
				`external_ingress = { class = "traefik.ingress.networking.knative.dev", services = ["traefik/traefik"] }.`)
	case !isExternal && !external.IsNull():
		current := fmt.Sprintf("%q", ingress.ValueString())
		if ingress.IsNull() {
			current = fmt.Sprintf("%q (the default)", manifests.DefaultIngress)
		}
		resp.Diagnostics.AddAttributeError(path.Root("external_ingress"), "external_ingress without ingress = \"external\"",
			"external_ingress describes a networking layer you install and is only valid with ingress = \"external\"; ingress is "+current+
				". Set ingress = \"external\", or remove external_ingress.")
	}
}

// externalClassValidator: external_ingress.class must be a Knative ingress
// class (serving.CheckExternalClass); one without the conventional suffix is
// warned about.
type externalClassValidator struct{}

func (externalClassValidator) Description(context.Context) string {
	return "must be a DNS subdomain, by convention ending in " + serving.ClassSuffix + ", and no class of a layer the provider installs"
}

func (v externalClassValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (externalClassValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	warning, err := serving.CheckExternalClass(req.ConfigValue.ValueString())
	// Terraform points at the resource, not into an object: the detail names the attribute.
	switch {
	case err != nil:
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid ingress class", fmt.Sprintf("Attribute %s: %s", req.Path, err))
	case warning != "":
		resp.Diagnostics.AddAttributeWarning(req.Path, "Unconventional ingress class", fmt.Sprintf("Attribute %s: %s", req.Path, warning))
	}
}

// serviceKeyValidator: a Service as namespace/name.
type serviceKeyValidator struct{}

func (serviceKeyValidator) Description(context.Context) string {
	return "must name a Service as namespace/name"
}

func (v serviceKeyValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (serviceKeyValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if err := serving.CheckServiceKey(req.ConfigValue.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid Service name", fmt.Sprintf("Attribute %s: %s", req.Path, err))
	}
}

// ModifyPlan refuses upgrades that skip a minor and downgrades, warns about a
// networking layer's missing prerequisites, and plans the repair of drift
// found by refresh.
func (r *servingResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return
	}
	var plan, state servingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	class, classKnown := plan.ingressClass()
	if classKnown {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("ingress_class"), class)...)
	} else {
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("ingress_class"), types.StringUnknown())...)
	}
	if req.State.Raw.IsNull() {
		r.checkPrerequisites(ctx, &plan, &resp.Diagnostics)
		return
	}
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Another layer (or another external one: its class changed).
	switching := !plan.Ingress.Equal(state.Ingress) || !classKnown || class != state.IngressClass.ValueString()
	if switching || !plan.ExternalIngress.equal(state.ExternalIngress) {
		r.checkPrerequisites(ctx, &plan, &resp.Diagnostics)
	}
	from := state.InstalledVersion.ValueString()
	if from == "" {
		from = state.Version.ValueString()
	}
	if !plan.Version.IsUnknown() && from != "" {
		if msg := serving.UpgradeRefusal(from, plan.Version.ValueString()); msg != "" {
			resp.Diagnostics.AddAttributeError(path.Root("version"), "Unsupported version change", msg)
			return
		}
	}
	var drift []string
	resp.Diagnostics.Append(state.Drift.ElementsAs(ctx, &drift, false)...)
	if len(drift) > 0 || plan.Version.ValueString() != state.InstalledVersion.ValueString() || switching {
		// Apply re-applies everything; afterwards nothing has drifted.
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("drift"), types.ListValueMust(types.StringType, nil))...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("installed_version"), plan.Version)...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("ready"), types.BoolUnknown())...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root("components"), types.ListUnknown(componentType))...)
	}
}

// checkPrerequisites warns at plan when the cluster lacks what the planned
// networking layer needs (plan_dry_run). Only a warning: the same apply may
// install Istio, Contour, a Gateway API implementation or the external layer
// first; apply checks again before it writes anything and fails then.
func (r *servingResource) checkPrerequisites(ctx context.Context, plan *servingModel, diags *diag.Diagnostics) {
	clients := r.data.planClients()
	if clients == nil || plan.Ingress.IsUnknown() || plan.Ingress.IsNull() || !plan.ExternalIngress.known() {
		return
	}
	var ignored diag.Diagnostics
	spec := plan.spec(ctx, &ignored)
	if ignored.HasError() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, dryRunTimeout)
	defer cancel()
	err := (&serving.Installer{Clients: clients}).CheckPrerequisites(ctx, spec)
	var missing *serving.MissingPrerequisitesError
	switch {
	case errors.As(err, &missing):
		diags.AddAttributeWarning(prerequisitesPath(spec.Ingress), "Networking layer prerequisites missing",
			err.Error()+"\nApply fails unless something in it installs them first.")
	case err != nil:
		tflog.Debug(ctx, "plan-time prerequisite check skipped", map[string]any{"reason": err.Error()})
	}
}

func (r *servingResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan servingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, servingCreateTimeout)
	resp.Diagnostics.Append(diags...)
	installer := r.installer(ctx, &resp.Diagnostics)
	if installer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	spec := plan.spec(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	r.applyAndRecord(ctx, installer, spec, nil, &plan, &resp.State, &resp.Diagnostics, "Installing Knative Serving failed")
}

func (r *servingResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state servingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	installer := r.installer(ctx, &resp.Diagnostics)
	if installer == nil {
		return
	}
	if state.Version.IsNull() || state.Version.ValueString() == "" {
		// Imported: adopt whatever version is installed.
		if !r.adopt(ctx, installer, &state, &resp.Diagnostics) {
			resp.State.RemoveResource(ctx)
			return
		}
	}
	spec := state.spec(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	obs, err := installer.Observe(ctx, spec)
	if err != nil {
		resp.Diagnostics.AddError("Reading Knative Serving failed", err.Error())
		return
	}
	if !obs.Found {
		tflog.Info(ctx, "Knative Serving is gone from the cluster; removing it from state")
		resp.State.RemoveResource(ctx)
		return
	}
	state.ID = types.StringValue(serving.Namespace)
	state.setObservation(obs, spec, &resp.Diagnostics)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
}

func (r *servingResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan, state servingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, servingUpdateTimeout)
	resp.Diagnostics.Append(diags...)
	installer := r.installer(ctx, &resp.Diagnostics)
	if installer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	spec := plan.spec(ctx, &resp.Diagnostics)
	previous := state.spec(ctx, &resp.Diagnostics)
	if installed := state.InstalledVersion.ValueString(); manifests.Supported(installed) {
		previous.Version = installed
	}
	if resp.Diagnostics.HasError() {
		return
	}
	r.applyAndRecord(ctx, installer, spec, &previous, &plan, &resp.State, &resp.Diagnostics, "Updating Knative Serving failed")
}

// applyAndRecord applies spec and records the result in state even when the
// apply failed: objects may exist then, so the resource stays in state
// (tainted after a failed create) to be finished or removed by the next
// apply, never orphaned.
func (r *servingResource) applyAndRecord(ctx context.Context, installer *serving.Installer, spec serving.Spec, previous *serving.Spec,
	m *servingModel, state *tfsdk.State, diags *diag.Diagnostics, failure string) {
	err := installer.Apply(ctx, spec, previous, m.WaitForReady.ValueBool())
	var missing *serving.MissingPrerequisitesError
	if errors.As(err, &missing) {
		// Nothing was written: no state for a create, the prior state for an update.
		diags.AddAttributeError(prerequisitesPath(spec.Ingress), "Networking layer prerequisites missing", err.Error())
		return
	}
	r.refreshComputed(ctx, installer, spec, m, diags)
	m.Drift = types.ListValueMust(types.StringType, nil) // everything was just applied
	diags.Append(state.Set(ctx, m)...)
	if err != nil {
		diags.AddError(failure, err.Error())
	}
}

func (r *servingResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state servingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, servingDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	installer := r.installer(ctx, &resp.Diagnostics)
	if installer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	spec := state.spec(ctx, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := installer.Remove(ctx, spec, state.DeleteKnativeObjects.ValueBool()); err != nil {
		var workloads *serving.ErrWorkloadsExist
		if errors.As(err, &workloads) {
			resp.Diagnostics.AddAttributeError(path.Root("delete_knative_objects"), "Knative objects still exist", err.Error()+
				"\nDelete them first (or destroy the resources that manage them), or set delete_knative_objects = true to delete them with the runtime.")
			return
		}
		resp.Diagnostics.AddError("Removing Knative Serving failed", err.Error())
	}
}

// ImportState adopts an existing installation; its version is detected on read.
func (r *servingResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	if req.ID != serving.Namespace {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("Import knative_serving with the ID %q (the runtime's namespace), not %q.", serving.Namespace, req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), serving.Namespace)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("wait_for_ready"), true)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("delete_knative_objects"), false)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("timeouts"), timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{
		"create": types.StringType, "update": types.StringType, "delete": types.StringType})})...)
}

// adopt fills version and ingress of an imported installation from the
// cluster. It returns false when Knative Serving is not installed.
func (r *servingResource) adopt(ctx context.Context, installer *serving.Installer, state *servingModel, diags *diag.Diagnostics) bool {
	found, err := serving.Detect(ctx, installer.Clients)
	if err != nil {
		diags.AddError("Reading Knative Serving failed", err.Error())
		return false
	}
	if !found.Installed {
		return false
	}
	if !manifests.Supported(found.Version) {
		diags.AddError("Unsupported Knative Serving version", fmt.Sprintf(
			"Knative Serving %q is installed; this provider manages %s.", found.Version, strings.Join(manifests.Versions(), ", ")))
		return false
	}
	state.Version = types.StringValue(found.Version)
	if found.Ingress == "" {
		diags.AddError("Unsupported networking layer", "config-network names no ingress-class; this provider installs "+
			strings.Join(manifests.Ingresses(), ", ")+" or names the class of an external one.")
		return false
	}
	state.Ingress = types.StringValue(found.Ingress)
	if found.Ingress == serving.External {
		// A layer the user brought: its class, but not its Services, is on the cluster.
		state.ExternalIngress = &externalModel{Class: types.StringValue(found.IngressClass), Services: types.ListNull(types.StringType)}
	}
	return true
}

func (r *servingResource) installer(ctx context.Context, diags *diag.Diagnostics) *serving.Installer {
	clients := r.data.clients(diags)
	if clients == nil {
		return nil
	}
	return &serving.Installer{Clients: clients, Progress: func(msg string) { tflog.Info(ctx, msg) }}
}

// refreshComputed reads the computed attributes after an apply.
func (r *servingResource) refreshComputed(ctx context.Context, installer *serving.Installer, spec serving.Spec, m *servingModel, diags *diag.Diagnostics) {
	m.ID = types.StringValue(serving.Namespace)
	obs, err := installer.Observe(ctx, spec)
	if err != nil {
		// The apply's own error says more; keep the state usable.
		obs = &serving.Observation{Version: spec.Version}
	}
	m.setObservation(obs, spec, diags)
}

func (m *servingModel) setObservation(obs *serving.Observation, spec serving.Spec, diags *diag.Diagnostics) {
	m.InstalledVersion = types.StringValue(obs.Version)
	m.IngressClass = types.StringValue(spec.IngressClass())
	ready := len(obs.Components) > 0
	var components []attr.Value
	for _, c := range obs.Components {
		ready = ready && c.Ready
		v, d := types.ObjectValue(componentType.AttrTypes, map[string]attr.Value{
			"name": types.StringValue(c.Name), "namespace": types.StringValue(c.Namespace),
			"ready": types.BoolValue(c.Ready), "message": types.StringValue(c.Message),
		})
		diags.Append(d...)
		components = append(components, v)
	}
	m.Ready = types.BoolValue(ready)
	m.Components = types.ListValueMust(componentType, components)
	drift := obs.Drift
	if len(drift) > maxDriftLines {
		drift = append(drift[:maxDriftLines:maxDriftLines], fmt.Sprintf("... and %d more", len(obs.Drift)-maxDriftLines))
	}
	lines := make([]attr.Value, len(drift))
	for i, line := range drift {
		lines[i] = types.StringValue(line)
	}
	m.Drift = types.ListValueMust(types.StringType, lines)
}

func (m *servingModel) spec(ctx context.Context, diags *diag.Diagnostics) serving.Spec {
	spec := serving.Spec{Version: m.Version.ValueString(), Ingress: m.Ingress.ValueString()}.WithDefaults()
	if m.HighAvailability != nil {
		spec.Replicas = int(m.HighAvailability.Replicas.ValueInt64())
	}
	if m.ExternalIngress != nil {
		spec.External.Class = m.ExternalIngress.Class.ValueString()
		if !m.ExternalIngress.Services.IsNull() && !m.ExternalIngress.Services.IsUnknown() {
			diags.Append(m.ExternalIngress.Services.ElementsAs(ctx, &spec.External.Services, false)...)
		}
	}
	if m.Registry != nil {
		spec.Registry.Default = m.Registry.Default.ValueString()
		if !m.Registry.Override.IsNull() {
			diags.Append(m.Registry.Override.ElementsAs(ctx, &spec.Registry.Override, false)...)
		}
	}
	return spec
}

// ingressClass is the class config-network is to name, and whether it is known.
func (m *servingModel) ingressClass() (string, bool) {
	switch {
	case m.Ingress.IsUnknown():
		return "", false
	case m.Ingress.ValueString() != serving.External:
		return serving.IngressClass(m.Ingress.ValueString()), true
	case m.ExternalIngress == nil || m.ExternalIngress.Class.IsUnknown():
		return "", false
	}
	return m.ExternalIngress.Class.ValueString(), true
}

// known says whether every value of e is known (a nil e is).
func (e *externalModel) known() bool {
	if e == nil {
		return true
	}
	if e.Class.IsUnknown() || e.Services.IsUnknown() {
		return false
	}
	for _, v := range e.Services.Elements() {
		if v.IsUnknown() {
			return false
		}
	}
	return true
}

func (e *externalModel) equal(other *externalModel) bool {
	if e == nil || other == nil {
		return e == other
	}
	return e.Class.Equal(other.Class) && e.Services.Equal(other.Services)
}

// prerequisitesPath is the attribute a layer's missing prerequisites are
// reported at: ingress, or the external layer's services.
func prerequisitesPath(ingress string) path.Path {
	if ingress == serving.External {
		return path.Root("external_ingress").AtName("services")
	}
	return path.Root("ingress")
}
