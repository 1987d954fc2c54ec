package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	tfresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// The Terraform side of the engine's lifecycle (serving.Objects), shared by
// knative_service, knative_route and knative_domain_mapping: each resource
// converts its model to and from the Knative object; this file turns the
// engine's results into state and diagnostics.

// objectModel is a resource model that converts to and from its Knative object.
type objectModel interface {
	// toObject is the object with exactly the fields the user set.
	toObject(ctx context.Context) *unstructured.Unstructured
	// fromObject sets the user-settable attributes from a live object reduced
	// to them (or adopted whole on import).
	fromObject(obj map[string]any)
	// setStatus fills the computed attributes from the live object.
	setStatus(live *unstructured.Unstructured)
	// common is the attributes every such resource has.
	common() *objectCommon
}

// objectCommon are the attributes every Knative object resource has.
type objectCommon struct {
	ID           *types.String
	Namespace    types.String
	Name         types.String
	WaitForReady types.Bool
}

// lifecycle is one resource type's use of the engine.
type lifecycle struct {
	kind *serving.Kind
	data *ProviderData
	// typeName is the resource type, such as knative_service.
	typeName string
	// example is an import ID in messages, such as default/hello.
	example string
	// status is what each computed status attribute depends on.
	status statusDependencies
}

// objects is the engine's lifecycle for the kind, or nil with an error
// saying why the cluster cannot be reached.
func (l lifecycle) objects(diags *diag.Diagnostics) *serving.Objects {
	clients := l.data.clients(diags)
	if clients == nil {
		return nil
	}
	o := l.kind.On(clients)
	return &o
}

// converge applies the plan and, when asked, waits for Knative's verdict. The
// object is recorded in state even when Knative fails it, so the user can fix
// forward. It returns the live object the state reflects; nil when nothing
// was written. explain may add to Knative's message of a failure.
// With private, it records the version of the object the state reflects
// (recordObserved).
func (l lifecycle) converge(ctx context.Context, timeout time.Duration, creating bool, plan objectModel, state *tfsdk.State, private privateState,
	diags *diag.Diagnostics, explain func(*serving.NotReadyError) string) *unstructured.Unstructured {
	objects := l.objects(diags)
	if objects == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := plan.common()
	desired := plan.toObject(ctx)
	if creating {
		if err := objects.PrepareCreate(ctx, desired.GetNamespace(), desired.GetName()); err != nil {
			var exists *serving.ExistsError
			if errors.As(err, &exists) {
				err = fmt.Errorf("the %s %s/%s already exists. To manage it with Terraform, import it: terraform import %s.<name> %s/%s",
					l.kind.Name, exists.Namespace, exists.Name, l.typeName, exists.Namespace, exists.Name)
			}
			diags.AddError("Cannot create the "+l.kind.Name, err.Error())
			return nil
		}
	}
	applyCtx, warnings := kube.WithWarnings(ctx)
	live, err := objects.Apply(applyCtx, desired)
	for _, w := range warnings.List() {
		// As kubectl apply shows them: Knative's webhook advice (an insecure
		// security context default) and API deprecations.
		diags.AddWarning("Kubernetes warns about the "+l.kind.Name, w)
	}
	if err != nil {
		diags.AddError("Applying the "+l.kind.Name+" failed", err.Error())
		return nil
	}
	if c.WaitForReady.ValueBool() {
		var waited *unstructured.Unstructured
		if waited, err = objects.WaitReady(ctx, live.GetNamespace(), live.GetName(), live.GetGeneration()); waited != nil {
			live = waited
		}
	}
	*c.ID = types.StringValue(live.GetNamespace() + "/" + live.GetName())
	planned := tfsdk.State{Schema: state.Schema}
	diags.Append(planned.Set(ctx, plan)...)
	plan.setStatus(live)
	diags.Append(state.Set(ctx, plan)...)
	if !creating {
		l.keepPlannedStatus(ctx, &planned, state, diags)
	}
	l.recordObserved(ctx, private, plan, live, diags)
	var notReady *serving.NotReadyError
	switch {
	case errors.As(err, &notReady):
		message := notReady.Message
		if explain != nil {
			message += explain(notReady)
		}
		diags.AddError(l.kind.Name+" failed: "+notReady.Reason, message)
	case err != nil:
		diags.AddError("Waiting for the "+l.kind.Name+" failed", err.Error())
	}
	return live
}

// get reads the object a state names; nil when it is gone, and then the
// resource is removed from state, so the plan creates it again.
func (l lifecycle) get(ctx context.Context, namespace, name string, state *tfsdk.State, diags *diag.Diagnostics) *unstructured.Unstructured {
	objects := l.objects(diags)
	if objects == nil {
		return nil
	}
	live, err := objects.Get(ctx, namespace, name)
	if err != nil {
		diags.AddError("Reading the "+l.kind.Name+" failed", err.Error())
		return nil
	}
	if live == nil {
		state.RemoveResource(ctx)
	}
	return live
}

// refresh sets m from live: the fields m sets with their live values, so
// drift shows at the attribute, or everything a user could have set when
// nothing is set yet (import).
func (l lifecycle) refresh(ctx context.Context, m objectModel, live *unstructured.Unstructured, imported bool) {
	var desired *unstructured.Unstructured
	if !imported {
		desired = m.toObject(ctx)
	}
	m.fromObject(l.kind.Compare(live, desired).Fields)
	*m.common().ID = types.StringValue(live.GetNamespace() + "/" + live.GetName())
	m.setStatus(live)
}

// delete deletes the object and waits until it is gone, with everything
// Knative derived from it.
func (l lifecycle) delete(ctx context.Context, timeout time.Duration, m objectModel, diags *diag.Diagnostics) {
	objects := l.objects(diags)
	if objects == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := m.common()
	if err := objects.Delete(ctx, c.Namespace.ValueString(), c.Name.ValueString()); err != nil {
		diags.AddError("Deleting the "+l.kind.Name+" failed", err.Error())
	}
}

// importState takes namespace/name and sets the attributes an import starts
// from: those, the defaults in defaults, and no timeouts.
func (l lifecycle) importState(ctx context.Context, req tfresource.ImportStateRequest, resp *tfresource.ImportStateResponse, defaults map[string]any) {
	namespace, name, ok := strings.Cut(req.ID, "/")
	if !ok || namespace == "" || name == "" || strings.Contains(name, "/") {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("Import a %s as namespace/name, such as %s; got %q.", l.typeName, l.example, req.ID))
		return
	}
	values := map[string]any{"namespace": namespace, "name": name, "wait_for_ready": true}
	for k, v := range defaults {
		values[k] = v
	}
	for attribute, value := range values {
		resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root(attribute), value)...)
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("timeouts"), timeouts.Value{Object: types.ObjectNull(map[string]attr.Type{
		"create": types.StringType, "update": types.StringType, "delete": types.StringType})})...)
}

// statusDependencies names, for each computed status attribute of a
// resource, the configured attributes whose change can change it. An update
// keeps every status value none of whose dependencies changes (the URL of a
// Service whose image changes), so what consumes it is not replanned; the
// framework would mark them all unknown.
type statusDependencies map[string][]string

// keepUnchangedStatus is ModifyPlan's part of statusDependencies.
func (l lifecycle) keepUnchangedStatus(ctx context.Context, req tfresource.ModifyPlanRequest, resp *tfresource.ModifyPlanResponse) {
	if req.State.Raw.IsNull() || req.Plan.Raw.IsNull() {
		return
	}
	if l.notReady(ctx, req, resp) {
		return
	}
	changed := map[string]bool{}
	isChanged := func(name string) bool {
		if c, ok := changed[name]; ok {
			return c
		}
		var planned, prior attr.Value
		resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root(name), &planned)...)
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(name), &prior)...)
		changed[name] = planned == nil || prior == nil || !planned.Equal(prior) // an unknown value is a change
		return changed[name]
	}
	for attribute, dependencies := range l.status {
		if slices.ContainsFunc(dependencies, isChanged) {
			continue
		}
		var prior attr.Value
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(attribute), &prior)...)
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(attribute), prior)...)
	}
}

// notReady plans an update of an object that is not Ready while the
// resource waits for readiness: an earlier apply wrote it but Knative had not
// decided (its controller down, a timeout) or failed it. The update applies
// the same object and waits again, so a re-apply converges once Knative does;
// its status is all unknown, since the wait may change any of it.
func (l lifecycle) notReady(ctx context.Context, req tfresource.ModifyPlanRequest, resp *tfresource.ModifyPlanResponse) bool {
	var ready, wait types.Bool
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("ready"), &ready)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("wait_for_ready"), &wait)...)
	if ready.IsNull() || ready.IsUnknown() || ready.ValueBool() || !wait.ValueBool() {
		return false
	}
	for attribute := range l.status {
		var prior attr.Value
		resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root(attribute), &prior)...)
		if prior == nil {
			continue
		}
		typ := prior.Type(ctx)
		unknown, err := typ.ValueFromTerraform(ctx, tftypes.NewValue(typ.TerraformType(ctx), tftypes.UnknownValue))
		if err != nil {
			resp.Diagnostics.AddError("Cannot plan the status of "+attribute, err.Error())
			continue
		}
		resp.Diagnostics.Append(resp.Plan.SetAttribute(ctx, path.Root(attribute), unknown)...)
	}
	return true
}

// keepPlannedStatus holds the apply to the status values its plan promised.
// One can still move under it: a Service's URL when config-domain changes in
// the same apply. Terraform would refuse the whole result as inconsistent;
// the state keeps the planned value and the next refresh records Knative's.
func (l lifecycle) keepPlannedStatus(ctx context.Context, planned, state *tfsdk.State, diags *diag.Diagnostics) {
	for attribute := range l.status {
		var promised, got attr.Value
		diags.Append(planned.GetAttribute(ctx, path.Root(attribute), &promised)...)
		diags.Append(state.GetAttribute(ctx, path.Root(attribute), &got)...)
		if promised == nil || promised.IsUnknown() || promised.Equal(got) {
			continue
		}
		diags.Append(state.SetAttribute(ctx, path.Root(attribute), promised)...)
		diags.AddAttributeWarning(path.Root(attribute), attribute+" changed during the apply",
			fmt.Sprintf("Knative changed the %s's %s to %s while it was applied, though nothing this apply changed on it should have "+
				"(a change of Knative's configuration in the same apply?). The state keeps %s until the next refresh records it.",
				l.kind.Name, attribute, got, promised))
	}
}

// dryRun judges a planned create or update on the cluster (plan_dry_run):
// the API server, Knative's webhook and admission policies see the object as
// the apply will send it, and nothing is persisted. Only a resource with a
// change, whose configuration is fully known, pays for it; a refresh never
// does. A cluster that cannot be reached or does not serve the kind yet
// (Knative Serving installed in the same apply) is no error.
func (l lifecycle) dryRun(ctx context.Context, req tfresource.ModifyPlanRequest, plan objectModel, fields knativeFields, diags *diag.Diagnostics) {
	if req.Plan.Raw.IsNull() || !req.Config.Raw.IsFullyKnown() || (!req.State.Raw.IsNull() && req.Plan.Raw.Equal(req.State.Raw)) {
		return
	}
	clients := l.data.planClients()
	if clients == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, dryRunTimeout)
	defer cancel()
	verdict := l.kind.On(clients).DryRunApply(ctx, plan.toObject(ctx))
	switch {
	case verdict.Skipped != "":
		tflog.Debug(ctx, "plan-time dry-run skipped", map[string]any{"reason": verdict.Skipped})
	case verdict.Warning != "":
		diags.AddWarning("The cluster could not judge this "+l.kind.Name, "A dry-run apply at plan time (plan_dry_run): "+verdict.Warning+".")
	case verdict.Refused != nil:
		addKnativeErrors(ctx, diags, req.Config, fields, "The cluster refuses this "+l.kind.Name,
			"A dry-run apply at plan time (plan_dry_run) was refused", verdict.Refused)
	}
}

// planClients are the clients for plan-time checks on the cluster
// (plan_dry_run), or nil when they are off or the connection settings are
// not known yet (the cluster is created in the same apply).
func (d *ProviderData) planClients() *kube.Clients {
	if d == nil || !d.PlanDryRun {
		return nil
	}
	clients, err := d.Clients.Get()
	if err != nil {
		return nil
	}
	return clients
}

// dryRunTimeout bounds a plan's wait for a cluster that does not answer.
const dryRunTimeout = 20 * time.Second

// modifyPlan is the plan step of a resource with nothing of its own to
// check there: status kept where the change cannot alter it, then the
// dry-run of plan (a new model of the resource's type).
func (l lifecycle) modifyPlan(ctx context.Context, req tfresource.ModifyPlanRequest, resp *tfresource.ModifyPlanResponse, plan objectModel, fields knativeFields) {
	l.keepUnchangedStatus(ctx, req, resp)
	if req.Plan.Raw.IsNull() || !req.Config.Raw.IsFullyKnown() {
		return
	}
	if resp.Diagnostics.Append(req.Plan.Get(ctx, plan)...); !resp.Diagnostics.HasError() {
		l.dryRun(ctx, req, plan, fields, &resp.Diagnostics)
	}
}
