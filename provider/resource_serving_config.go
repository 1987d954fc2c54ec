package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

type servingConfigResource struct {
	data *ProviderData
}

var (
	_ resource.ResourceWithConfigure      = (*servingConfigResource)(nil)
	_ resource.ResourceWithImportState    = (*servingConfigResource)(nil)
	_ resource.ResourceWithValidateConfig = (*servingConfigResource)(nil)
)

func newServingConfigResource() resource.Resource { return &servingConfigResource{} }

type servingConfigModel struct {
	ID   types.String `tfsdk:"id"`
	Name types.String `tfsdk:"name"`
	Data types.Map    `tfsdk:"data"`
}

func (r *servingConfigResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_serving_config"
}

func (r *servingConfigResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		Description: "Manages keys of one Knative Serving config map (config-autoscaler, config-domain, ...). Only the " +
			"keys in `data` are owned, with a field manager of their own: keys that `knative_serving` sets " +
			"(config-network's ingress-class) or other writers set are left alone, and setting one of those is a " +
			"conflict, not an overwrite. Values are validated at plan time with Knative's own parsers. Use one " +
			"resource per config map.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, Description: "knative-serving/config-NAME.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required:      true,
				Description:   "The config map, without the config- prefix: one of " + strings.Join(serving.ConfigNames(), ", ") + ".",
				Validators:    []validator.String{stringvalidator.OneOf(serving.ConfigNames()...)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"data": schema.MapAttribute{
				ElementType: types.StringType, Required: true,
				Description: "Keys and values to set, such as { \"min-scale\" = \"1\" } for autoscaler. Keys Knative does " +
					"not know give a warning (Knative ignores them). `_example` holds Knative's documentation and cannot be set.",
				Validators: []validator.Map{mapvalidator.KeysAre(stringvalidator.NoneOf(serving.ExampleKey))},
			},
		},
	}
}

func (r *servingConfigResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.data = providerDataFrom(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig runs Knative's parser for the config map at plan time. Each
// key is checked alone first so the error points at it; then all together for
// rules across keys.
func (r *servingConfigResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var m servingConfigModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() || m.Name.IsUnknown() || m.Name.IsNull() || m.Data.IsUnknown() || m.Data.IsNull() {
		return
	}
	name := m.Name.ValueString()
	data := map[string]string{}
	for k, v := range m.Data.Elements() {
		s, ok := v.(types.String)
		if !ok || s.IsUnknown() {
			return // validated at apply, once known
		}
		data[k] = s.ValueString()
	}
	// The values are read together (revision-timeout-seconds must not exceed
	// max-revision-timeout-seconds); an error goes to the keys Knative's
	// parser names in it.
	err := serving.ValidateConfig(name, data)
	failed := err != nil
	if failed {
		attributed := false
		for _, k := range slices.Sorted(maps.Keys(data)) {
			if strings.Contains(err.Error(), k) {
				resp.Diagnostics.AddAttributeError(path.Root("data").AtMapKey(k), "Invalid config-"+name+" value",
					fmt.Sprintf("Knative rejects %s = %q: %s", k, data[k], err))
				attributed = true
			}
		}
		if !attributed {
			resp.Diagnostics.AddAttributeError(path.Root("data"), "Invalid config-"+name, "Knative rejects these values together: "+err.Error())
		}
	}
	if !failed {
		for _, k := range serving.IneffectiveConfigValues(name, data) {
			instead := "its built-in default"
			if d := serving.ReleaseConfigValue(name, k); d != "" {
				instead = fmt.Sprintf("its default, %q", d)
			}
			resp.Diagnostics.AddAttributeWarning(path.Root("data").AtMapKey(k), "config-"+name+" value changes nothing",
				fmt.Sprintf("Knative reads %s = %q as %s. Either that is the default already, or Knative cannot read the value "+
					"and silently uses the default instead, and the cluster would not behave as this configuration says: check "+
					"the spelling and the format (the _example of config-%s documents them).", k, data[k], instead, name))
		}
	}
	for _, k := range serving.UnknownConfigKeys(name, data) {
		resp.Diagnostics.AddAttributeWarning(path.Root("data").AtMapKey(k), "Unknown config-"+name+" key",
			fmt.Sprintf("Knative Serving %s does not document %q in config-%s, and ignores keys it does not know. Check the spelling.", manifests.DefaultVersion, k, name))
	}
}

func (r *servingConfigResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	r.apply(ctx, req.Plan.Get, nil, &resp.State, &resp.Diagnostics)
}

func (r *servingConfigResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	// Keys this resource managed already are reclaimed if another writer took them.
	var prior servingConfigModel
	resp.Diagnostics.Append(req.State.Get(ctx, &prior)...)
	reclaim := map[string]bool{}
	for k := range prior.Data.Elements() {
		reclaim[k] = true
	}
	r.apply(ctx, req.Plan.Get, reclaim, &resp.State, &resp.Diagnostics)
}

func (r *servingConfigResource) apply(ctx context.Context, get func(context.Context, any) diag.Diagnostics, reclaim map[string]bool, state stateSetter, diags *diag.Diagnostics) {
	var m servingConfigModel
	diags.Append(get(ctx, &m)...)
	cfg := r.config(m.Name.ValueString(), diags)
	if diags.HasError() || cfg == nil {
		return
	}
	data := map[string]string{}
	diags.Append(m.Data.ElementsAs(ctx, &data, false)...)
	if diags.HasError() {
		return
	}
	if err := serving.ValidateConfig(cfg.Name, data); err != nil {
		diags.AddAttributeError(path.Root("data"), "Invalid "+cfg.ConfigMapName(), err.Error())
		return
	}
	if err := cfg.Apply(ctx, data, reclaim); err != nil {
		if errors.Is(err, serving.ErrConfigMapMissing) {
			err = fmt.Errorf("%w: install it first (the knative_serving resource) and make this resource depend on it", err)
		}
		diags.AddError("Setting "+cfg.ConfigMapName()+" failed", err.Error())
		return
	}
	m.ID = types.StringValue(serving.Namespace + "/" + cfg.ConfigMapName())
	diags.Append(state.Set(ctx, m)...)
}

type stateSetter interface {
	Set(context.Context, any) diag.Diagnostics
}

// Read shows drift per key: a key changed out of band reads back with its
// live value, a removed key disappears; keys the resource does not own are
// not read into state.
func (r *servingConfigResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var m servingConfigModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	cfg := r.config(m.Name.ValueString(), &resp.Diagnostics)
	if resp.Diagnostics.HasError() || cfg == nil {
		return
	}
	live, ownedByOthers, err := cfg.Read(ctx)
	if apierrors.IsNotFound(err) {
		resp.State.RemoveResource(ctx)
		return
	}
	if err != nil {
		resp.Diagnostics.AddError("Reading "+cfg.ConfigMapName()+" failed", err.Error())
		return
	}
	owned := map[string]string{}
	if m.Data.IsNull() {
		// Imported: adopt the keys nobody else manages (not _example, not the
		// runtime installer's ingress-class).
		for k, v := range live {
			if k != serving.ExampleKey && ownedByOthers[k] != cfg.Clients.FieldManager {
				owned[k] = v
			}
		}
	} else {
		for k := range m.Data.Elements() {
			if v, ok := live[k]; ok {
				owned[k] = v
			}
		}
	}
	data, diags := types.MapValueFrom(ctx, types.StringType, owned)
	resp.Diagnostics.Append(diags...)
	m.Data = data
	m.ID = types.StringValue(serving.Namespace + "/" + cfg.ConfigMapName())
	resp.Diagnostics.Append(resp.State.Set(ctx, m)...)
}

// Delete removes only this resource's keys: applying no data with the same
// field manager drops the fields it owned.
func (r *servingConfigResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var m servingConfigModel
	resp.Diagnostics.Append(req.State.Get(ctx, &m)...)
	cfg := r.config(m.Name.ValueString(), &resp.Diagnostics)
	if resp.Diagnostics.HasError() || cfg == nil {
		return
	}
	if err := cfg.Apply(ctx, nil, nil); err != nil && !apierrors.IsNotFound(err) && !errors.Is(err, serving.ErrConfigMapMissing) {
		resp.Diagnostics.AddError("Removing keys from "+cfg.ConfigMapName()+" failed", err.Error())
	}
}

// ImportState takes "autoscaler", "config-autoscaler" or "knative-serving/config-autoscaler".
func (r *servingConfigResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	name := strings.TrimPrefix(strings.TrimPrefix(req.ID, serving.Namespace+"/"), "config-")
	valid := false
	for _, n := range serving.ConfigNames() {
		valid = valid || n == name
	}
	if !valid {
		resp.Diagnostics.AddError("Invalid import ID", fmt.Sprintf("%q names no Knative Serving config map; use one of %s (optionally as knative-serving/config-NAME).",
			req.ID, strings.Join(serving.ConfigNames(), ", ")))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), serving.Namespace+"/config-"+name)...)
}

func (r *servingConfigResource) config(name string, diags *diag.Diagnostics) *serving.Config {
	clients := r.data.clients(diags)
	if clients == nil {
		return nil
	}
	return &serving.Config{Clients: clients, Name: name}
}
