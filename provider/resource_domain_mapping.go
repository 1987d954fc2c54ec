package provider

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"knative.dev/pkg/apis"

	tfresource "github.com/hashicorp/terraform-plugin-framework/resource"

	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

const (
	domainMappingCreateTimeout = 5 * time.Minute
	domainMappingUpdateTimeout = 5 * time.Minute
	domainMappingDeleteTimeout = 5 * time.Minute
)

type domainMappingResource struct {
	data *ProviderData
}

var (
	_ tfresource.ResourceWithConfigure      = (*domainMappingResource)(nil)
	_ tfresource.ResourceWithImportState    = (*domainMappingResource)(nil)
	_ tfresource.ResourceWithValidateConfig = (*domainMappingResource)(nil)
	_ tfresource.ResourceWithModifyPlan     = (*domainMappingResource)(nil)
)

func newDomainMappingResource() tfresource.Resource { return &domainMappingResource{} }

type domainMappingModel struct {
	ID           types.String      `tfsdk:"id"`
	Name         types.String      `tfsdk:"name"`
	Namespace    types.String      `tfsdk:"namespace"`
	Labels       types.Map         `tfsdk:"labels"`
	Annotations  types.Map         `tfsdk:"annotations"`
	Ref          *domainMappingRef `tfsdk:"ref"`
	TLS          *domainMappingTLS `tfsdk:"tls"`
	ClaimDomain  types.Bool        `tfsdk:"claim_domain"`
	WaitForReady types.Bool        `tfsdk:"wait_for_ready"`
	Timeouts     timeoutsValue     `tfsdk:"timeouts"`

	readyStatusModel
}

type domainMappingRef struct {
	Name       types.String `tfsdk:"name"`
	Kind       types.String `tfsdk:"kind"`
	APIVersion types.String `tfsdk:"api_version"`
}

type domainMappingTLS struct {
	SecretName types.String `tfsdk:"secret_name"`
}

func (r *domainMappingResource) Metadata(_ context.Context, req tfresource.MetadataRequest, resp *tfresource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_domain_mapping"
}

func (r *domainMappingResource) Schema(ctx context.Context, _ tfresource.SchemaRequest, resp *tfresource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "A Knative DomainMapping: serves a Knative Service (or another addressable object) on a domain of its own. " +
			"By default it also creates the ClusterDomainClaim that gives the namespace the domain, which Knative requires " +
			"unless config-network's autocreate-cluster-domain-claims is true. Only the fields and the label and annotation " +
			"keys set here are managed. Create and update wait until the mapping is Ready and fail with Knative's own reason.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, Description: "namespace/name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"name": schema.StringAttribute{Required: true, Description: "The domain to serve, such as app.example.com (the DomainMapping's name).",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"namespace": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("default"),
				Description:   "Namespace of the DomainMapping and of what it maps to. Default \"default\".",
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"labels":      optMap("Labels of the DomainMapping. Only these keys are managed."),
			"annotations": optMap("Annotations of the DomainMapping. Only these keys are managed; keys Knative adds (serving.knative.dev/creator, lastModifier) are not."),
			"ref": schema.SingleNestedAttribute{Required: true, Description: "What the domain serves, in the mapping's namespace.",
				Attributes: map[string]schema.Attribute{
					"name": reqString("Name of the object, such as a knative_service's name."),
					"kind": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("Service"),
						Description: "Kind of the object. Default \"Service\"."},
					"api_version": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("serving.knative.dev/v1"),
						Description: "API version of the object. Default \"serving.knative.dev/v1\" (a Knative Service)."},
				}},
			"tls": optObject("Serve HTTPS with a certificate of your own.", map[string]schema.Attribute{
				"secret_name": reqString("Name of a kubernetes.io/tls Secret in the mapping's namespace."),
			}),
			"claim_domain": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "Create the ClusterDomainClaim that gives this namespace the domain, when there is none, and delete it " +
					"with the mapping. A claim held by another namespace fails the apply. Refresh sets it false when the namespace " +
					"no longer holds the claim, so the plan claims the domain again. Set false when claims are managed " +
					"elsewhere (or config-network's autocreate-cluster-domain-claims is true). Default true."},
			"wait_for_ready": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "Wait until the DomainMapping is Ready after create and update. Default true."},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
	for _, a := range readyStatusAttributes("DomainMapping") {
		resp.Schema.Attributes[a.name] = computedAttribute(a.typ, a.description)
	}
}

func (r *domainMappingResource) Configure(_ context.Context, req tfresource.ConfigureRequest, resp *tfresource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig runs Knative's own validation of the DomainMapping at plan
// time: the domain must be a fully qualified name outside the cluster-local
// domain, and the reference complete.
func (r *domainMappingResource) ValidateConfig(ctx context.Context, req tfresource.ValidateConfigRequest, resp *tfresource.ValidateConfigResponse) {
	if !req.Config.Raw.IsFullyKnown() {
		return
	}
	var m domainMappingModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.Ref == nil {
		return
	}
	// Defaults are not applied to the configuration yet.
	for _, d := range []struct {
		v   *types.String
		def string
	}{{&m.Namespace, "default"}, {&m.Ref.Kind, "Service"}, {&m.Ref.APIVersion, "serving.knative.dev/v1"}} {
		if d.v.IsNull() {
			*d.v = types.StringValue(d.def)
		}
	}
	if err := serving.ValidateDomainMapping(apis.WithinCreate(ctx), m.toObject(ctx).Object); err != nil {
		addKnativeErrors(ctx, &resp.Diagnostics, req.Config, domainMappingFields, "Invalid Knative DomainMapping", "Knative's validation rejects this DomainMapping", err)
	}
}

// domainMappingStatus: the URL is the domain's (the name replaces the
// mapping), https with TLS; a claim made again can make the mapping Ready.
var domainMappingStatus = func() statusDependencies {
	reconciled := []string{"ref", "tls", "labels", "annotations", "claim_domain"}
	return statusDependencies{
		"url":                 {"tls"},
		"address_url":         {"tls"},
		"observed_generation": {"ref", "tls"},
		"ready":               reconciled,
		"conditions":          reconciled,
	}
}()

func (r *domainMappingResource) lifecycle() lifecycle {
	return lifecycle{kind: serving.DomainMapping, data: r.data, typeName: "knative_domain_mapping", example: "default/app.example.com", status: domainMappingStatus}
}

// ModifyPlan keeps the status values an update cannot change and judges the
// change with a dry-run apply.
func (r *domainMappingResource) ModifyPlan(ctx context.Context, req tfresource.ModifyPlanRequest, resp *tfresource.ModifyPlanResponse) {
	r.lifecycle().modifyPlan(ctx, req, resp, &domainMappingModel{}, domainMappingFields)
}

func (m *domainMappingModel) common() *objectCommon {
	return &objectCommon{ID: &m.ID, Namespace: m.Namespace, Name: m.Name, WaitForReady: m.WaitForReady}
}

func (m *domainMappingModel) setStatus(live *unstructured.Unstructured) { m.setReadyStatus(live) }

// claimsDomain: with claim_domain, the state also says the namespace holds
// the domain's ClusterDomainClaim (the observed version records it).
func (m *domainMappingModel) claimsDomain() bool { return m.ClaimDomain.ValueBool() }

func (r *domainMappingResource) Create(ctx context.Context, req tfresource.CreateRequest, resp *tfresource.CreateResponse) {
	var plan domainMappingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	timeout, diags := plan.Timeouts.Create(ctx, domainMappingCreateTimeout)
	resp.Diagnostics.Append(diags...)
	r.applyAndWait(ctx, timeout, true, &plan, &resp.State, resp.Private, &resp.Diagnostics)
}

func (r *domainMappingResource) Update(ctx context.Context, req tfresource.UpdateRequest, resp *tfresource.UpdateResponse) {
	var plan domainMappingModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	timeout, diags := plan.Timeouts.Update(ctx, domainMappingUpdateTimeout)
	resp.Diagnostics.Append(diags...)
	r.applyAndWait(ctx, timeout, false, &plan, &resp.State, resp.Private, &resp.Diagnostics)
}

// applyAndWait claims the domain, then converges the mapping. A claim made
// for a mapping that could not be written is released again, so nothing is
// left that the state does not know of.
func (r *domainMappingResource) applyAndWait(ctx context.Context, timeout time.Duration, creating bool, plan *domainMappingModel, state *tfsdk.State, private privateState, diags *diag.Diagnostics) {
	claims := r.claims(diags)
	if diags.HasError() {
		return
	}
	namespace, domain := plan.Namespace.ValueString(), plan.Name.ValueString()
	if plan.ClaimDomain.ValueBool() {
		if err := claims.Claim(ctx, domain, namespace); err != nil {
			diags.AddAttributeError(path.Root("claim_domain"), "Cannot claim the domain", err.Error())
			return
		}
	}
	explain := func(notReady *serving.NotReadyError) string {
		if notReady.Reason != "DomainAlreadyClaimed" || plan.ClaimDomain.ValueBool() {
			return ""
		}
		// Knative says this of a missing claim too.
		return fmt.Sprintf(". With claim_domain = false, a ClusterDomainClaim named %s must give namespace %q the domain "+
			"(or config-network's autocreate-cluster-domain-claims must be true).", domain, namespace)
	}
	live := r.lifecycle().converge(ctx, timeout, creating, plan, state, private, diags, explain)
	if live == nil && creating && plan.ClaimDomain.ValueBool() {
		if err := claims.Unclaim(context.WithoutCancel(ctx), domain, namespace); err != nil {
			diags.AddWarning("The domain claim was not released", err.Error())
		}
	}
}

func (r *domainMappingResource) Read(ctx context.Context, req tfresource.ReadRequest, resp *tfresource.ReadResponse) {
	var state domainMappingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	// Not readChanged: the server sends a mapping of the version the state
	// records here only when the domain's claim changed.
	l := r.lifecycle()
	live := l.read(ctx, req, resp)
	if live == nil {
		return
	}
	l.refresh(ctx, &state, live, state.Ref == nil)
	if state.ClaimDomain.ValueBool() {
		// A claim deleted or taken out of band shows as claim_domain turning
		// false, so the plan offers to claim the domain again.
		claimed, err := r.claims(&resp.Diagnostics).Claimed(ctx, live.GetName(), live.GetNamespace())
		if err != nil {
			resp.Diagnostics.AddError("Reading the domain's ClusterDomainClaim failed", err.Error())
			return
		}
		state.ClaimDomain = types.BoolValue(claimed)
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	l.recordObserved(ctx, resp.Private, &state, live, &resp.Diagnostics)
}

// Delete deletes the mapping, waits until it is gone, and then releases the
// domain's ClusterDomainClaim if this provider created it for the namespace.
func (r *domainMappingResource) Delete(ctx context.Context, req tfresource.DeleteRequest, resp *tfresource.DeleteResponse) {
	var state domainMappingModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	timeout, diags := state.Timeouts.Delete(ctx, domainMappingDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	r.lifecycle().delete(ctx, timeout, &state, &resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	if err := r.claims(&resp.Diagnostics).Unclaim(ctx, state.Name.ValueString(), state.Namespace.ValueString()); err != nil {
		resp.Diagnostics.AddError("Releasing the domain's ClusterDomainClaim failed", err.Error())
	}
}

// ImportState takes namespace/name, the name being the domain.
func (r *domainMappingResource) ImportState(ctx context.Context, req tfresource.ImportStateRequest, resp *tfresource.ImportStateResponse) {
	r.lifecycle().importState(ctx, req, resp, map[string]any{"claim_domain": true})
}

func (r *domainMappingResource) claims(diags *diag.Diagnostics) serving.Claims {
	return serving.Claims{Clients: r.data.clients(diags)}
}

// toObject is the DomainMapping with only what the user set.
func (m *domainMappingModel) toObject(ctx context.Context) *unstructured.Unstructured {
	meta := map[string]any{"name": m.Name.ValueString(), "namespace": m.Namespace.ValueString()}
	putMap(meta, "labels", stringMap(ctx, m.Labels))
	putMap(meta, "annotations", stringMap(ctx, m.Annotations))
	spec := map[string]any{}
	if m.Ref != nil {
		ref := map[string]any{}
		putString(ref, "name", m.Ref.Name)
		putString(ref, "kind", m.Ref.Kind)
		putString(ref, "apiVersion", m.Ref.APIVersion)
		spec["ref"] = ref
	}
	if m.TLS != nil {
		tls := map[string]any{}
		putString(tls, "secretName", m.TLS.SecretName)
		spec["tls"] = tls
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": serving.DomainMappingsGVR.GroupVersion().String(), "kind": "DomainMapping",
		"metadata": meta, "spec": spec,
	}}
}

// fromObject reads back what obj (the live mapping projected onto what the
// user set, or all of it on import) holds.
func (m *domainMappingModel) fromObject(obj map[string]any) {
	meta, _ := obj["metadata"].(map[string]any)
	m.Labels = keepNullIfEmpty(m.Labels, mapOf(meta, "labels"))
	m.Annotations = keepNullIfEmpty(m.Annotations, mapOf(meta, "annotations"))
	spec, _ := obj["spec"].(map[string]any)
	ref, _ := spec["ref"].(map[string]any)
	m.Ref = &domainMappingRef{Name: stringOrEmpty(ref, "name"), Kind: stringOrEmpty(ref, "kind"), APIVersion: stringOrEmpty(ref, "apiVersion")}
	m.TLS = nil
	if tls, ok := spec["tls"].(map[string]any); ok {
		m.TLS = &domainMappingTLS{SecretName: stringOrEmpty(tls, "secretName")}
	}
}
