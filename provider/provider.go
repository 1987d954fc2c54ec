// Package provider is the Terraform provider for Knative Serving.
//
// It is importable so that wrappers (upjet, tests of other modules) can serve
// it in-process: provider.New(version) returns the framework provider factory.
package provider

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// New returns a factory for the provider at the given version.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &knativeProvider{version: version} }
}

type knativeProvider struct {
	version string
	// configured is what Configure handed to resources, for the server's
	// refresh shortcut (see NewServer).
	configured atomic.Pointer[ProviderData]
}

var (
	_ provider.Provider                   = (*knativeProvider)(nil)
	_ provider.ProviderWithValidateConfig = (*knativeProvider)(nil)
)

// providerModel mirrors the hashicorp/kubernetes provider block, plus client tuning.
type providerModel struct {
	ConfigPath            types.String  `tfsdk:"config_path"`
	ConfigPaths           types.List    `tfsdk:"config_paths"`
	ConfigContext         types.String  `tfsdk:"config_context"`
	ConfigContextAuthInfo types.String  `tfsdk:"config_context_auth_info"`
	ConfigContextCluster  types.String  `tfsdk:"config_context_cluster"`
	Host                  types.String  `tfsdk:"host"`
	Username              types.String  `tfsdk:"username"`
	Password              types.String  `tfsdk:"password"`
	Token                 types.String  `tfsdk:"token"`
	ClientCertificate     types.String  `tfsdk:"client_certificate"`
	ClientKey             types.String  `tfsdk:"client_key"`
	ClusterCACertificate  types.String  `tfsdk:"cluster_ca_certificate"`
	Insecure              types.Bool    `tfsdk:"insecure"`
	TLSServerName         types.String  `tfsdk:"tls_server_name"`
	ProxyURL              types.String  `tfsdk:"proxy_url"`
	Exec                  []execModel   `tfsdk:"exec"`
	QPS                   types.Float64 `tfsdk:"qps"`
	Burst                 types.Int64   `tfsdk:"burst"`
	FieldManager          types.String  `tfsdk:"field_manager"`
	PlanDryRun            types.Bool    `tfsdk:"plan_dry_run"`
}

type execModel struct {
	APIVersion types.String `tfsdk:"api_version"`
	Command    types.String `tfsdk:"command"`
	Args       types.List   `tfsdk:"args"`
	Env        types.Map    `tfsdk:"env"`
}

// ProviderData is handed to every resource and data source.
type ProviderData struct {
	Clients *kube.LazyClients
	Version string
	// PlanDryRun sends planned creates and updates to the cluster as dry-run
	// applies (see lifecycle.dryRun).
	PlanDryRun bool
}

func (p *knativeProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "knative"
	resp.Version = p.version
}

func (p *knativeProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	str := func(desc, env string) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Description: desc + " Can also be set with " + env + "."}
	}
	secret := func(desc, env string) schema.StringAttribute {
		a := str(desc, env)
		a.Sensitive = true
		return a
	}
	resp.Schema = schema.Schema{
		Description: "Installs Knative Serving and manages Knative Services, Routes, DomainMappings and the serving " +
			"configuration. The connection settings are those of the hashicorp/kubernetes provider. The provider " +
			"does not contact the cluster while it is configured or while a plan is made for resources that do not " +
			"exist yet, so the cluster may be created in the same apply.",
		Attributes: map[string]schema.Attribute{
			"config_path": schema.StringAttribute{
				Optional:    true,
				Description: "Path to a kubeconfig file. Can also be set with KUBE_CONFIG_PATH. The default kubeconfig (~/.kube/config, KUBECONFIG) is never read implicitly.",
				Validators:  []validator.String{stringvalidator.ConflictsWith(path.MatchRoot("config_paths"))},
			},
			"config_paths": schema.ListAttribute{
				ElementType: types.StringType,
				Optional:    true,
				Description: "Kubeconfig files merged in order, like KUBECONFIG. Can also be set with KUBE_CONFIG_PATHS (separated by the OS path list separator).",
				Validators:  []validator.List{listvalidator.SizeAtLeast(1)},
			},
			"config_context":           str("Kubeconfig context to use instead of the current context.", "KUBE_CTX"),
			"config_context_auth_info": str("Kubeconfig user to use instead of the context's user.", "KUBE_CTX_AUTH_INFO"),
			"config_context_cluster":   str("Kubeconfig cluster to use instead of the context's cluster.", "KUBE_CTX_CLUSTER"),
			"host":                     str("API server address, https://HOST[:PORT].", "KUBE_HOST"),
			"username":                 str("Username for basic authentication.", "KUBE_USER"),
			"password":                 secret("Password for basic authentication.", "KUBE_PASSWORD"),
			"token":                    secret("Bearer token.", "KUBE_TOKEN"),
			"client_certificate":       str("PEM-encoded client certificate for TLS authentication.", "KUBE_CLIENT_CERT_DATA"),
			"client_key":               secret("PEM-encoded private key of client_certificate.", "KUBE_CLIENT_KEY_DATA"),
			"cluster_ca_certificate":   str("PEM-encoded CA bundle the API server's certificate is verified against.", "KUBE_CLUSTER_CA_CERT_DATA"),
			"insecure": schema.BoolAttribute{
				Optional:    true,
				Description: "Skip verification of the API server's certificate. Not for production. Can also be set with KUBE_INSECURE.",
			},
			"tls_server_name": str("Server name to verify the API server's certificate against, when it differs from host.", "KUBE_TLS_SERVER_NAME"),
			"proxy_url":       str("URL of the proxy to reach the API server through.", "KUBE_PROXY_URL"),
			"qps": schema.Float64Attribute{
				Optional:    true,
				Description: "Requests per second this provider instance may send to the API server, shared by all resources. Unset: no client-side limit (the API server's priority and fairness protects it, and terraform's parallelism bounds the requests in flight). Can also be set with KNATIVE_QPS.",
				Validators:  []validator.Float64{float64validator.AtLeast(0.1)},
			},
			"burst": schema.Int64Attribute{
				Optional:    true,
				Description: "Requests allowed above qps at once; only with qps. Default twice qps. Can also be set with KNATIVE_BURST.",
				Validators:  []validator.Int64{int64validator.AtLeast(1)},
			},
			"field_manager": schema.StringAttribute{
				Optional:    true,
				Description: "Field manager name for server-side apply: the owner of the fields this provider writes. Default \"terraform-provider-knative\". Can also be set with KNATIVE_FIELD_MANAGER.",
				Validators:  []validator.String{stringvalidator.LengthBetween(1, 128)},
			},
			"plan_dry_run": schema.BoolAttribute{
				Optional: true,
				Description: "At plan time, send each planned create or update of a knative_service, knative_route or " +
					"knative_domain_mapping to the cluster as a server-side dry-run apply, so the API server, Knative's webhook " +
					"and admission policies judge it as the apply will; nothing is persisted. Skipped while the cluster cannot be " +
					"reached or does not serve Knative's API yet (Knative installed in the same apply). A knative_serving whose " +
					"ingress changes is checked for the networking layer's prerequisites (a warning at plan). Default true. Can also " +
					"be set with KNATIVE_PLAN_DRY_RUN.",
			},
		},
		Blocks: map[string]schema.Block{
			"exec": schema.ListNestedBlock{
				Description: "Credential plugin (client.authentication.k8s.io) that prints a token or certificate, such as aws eks get-token.",
				Validators:  []validator.List{listvalidator.SizeAtMost(1)},
				NestedObject: schema.NestedBlockObject{
					Attributes: map[string]schema.Attribute{
						"api_version": schema.StringAttribute{
							Required:    true,
							Description: "API version of the ExecCredential the plugin prints.",
							Validators: []validator.String{stringvalidator.OneOf(
								"client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")},
						},
						"command": schema.StringAttribute{Required: true, Description: "Command to run.", Validators: []validator.String{stringvalidator.LengthAtLeast(1)}},
						"args":    schema.ListAttribute{ElementType: types.StringType, Optional: true, Description: "Arguments of the command."},
						"env":     schema.MapAttribute{ElementType: types.StringType, Optional: true, Description: "Environment variables of the command."},
					},
				},
			},
		},
	}
}

// ValidateConfig reports bad combinations at plan time, at the attribute that is wrong.
// Per-attribute rules are schema validators; rules across attributes and
// environment variables live in kube.Settings.Validate so Configure applies the
// same rules to values that come from the environment.
func (p *knativeProvider) ValidateConfig(ctx context.Context, req provider.ValidateConfigRequest, resp *provider.ValidateConfigResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	settings, known, diags := settingsFrom(ctx, cfg)
	resp.Diagnostics.Append(diags...)
	if !known || resp.Diagnostics.HasError() {
		return
	}
	appendFieldErrors(&resp.Diagnostics, settings.Validate())
}

func (p *knativeProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	var cfg providerModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	if resp.Diagnostics.HasError() {
		return
	}
	settings, known, diags := settingsFrom(ctx, cfg)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	data := &ProviderData{Version: p.version, PlanDryRun: true}
	switch {
	case !cfg.PlanDryRun.IsNull() && !cfg.PlanDryRun.IsUnknown():
		data.PlanDryRun = cfg.PlanDryRun.ValueBool()
	case os.Getenv("KNATIVE_PLAN_DRY_RUN") != "":
		data.PlanDryRun = envBool(&resp.Diagnostics, "KNATIVE_PLAN_DRY_RUN")
	}
	if !known {
		tflog.Debug(ctx, "provider connection settings are unknown until apply; cluster access deferred")
		data.Clients = kube.UnavailableClients(kube.ErrSettingsUnknown)
	} else {
		appendFieldErrors(&resp.Diagnostics, settings.Validate())
		if resp.Diagnostics.HasError() {
			return
		}
		// Only the shape of the configuration is logged, never a value of it.
		tflog.Debug(ctx, "provider configured", map[string]any{
			"kubeconfig_files": len(settings.ConfigPaths),
			"host_set":         settings.Host != "",
			"token_auth":       settings.Token != "",
			"exec_auth":        settings.Exec != nil,
			"cert_auth":        settings.ClientCertificate != "",
			"qps":              settings.QPS,
			"burst":            settings.Burst,
		})
		data.Clients = kube.NewLazyClients(settings)
	}
	resp.ResourceData = data
	resp.DataSourceData = data
	p.configured.Store(data)
}

func (p *knativeProvider) Resources(context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		newServingResource,
		newServingConfigResource,
		newServiceResource,
		newDomainMappingResource,
		newRouteResource,
	}
}

func (p *knativeProvider) DataSources(context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		newServingDataSource,
		newServiceDataSource,
		newRevisionsDataSource,
	}
}

// settingsFrom merges the provider block with KUBE_* environment variables
// (the block wins). known is false if any value is unknown until apply.
func settingsFrom(ctx context.Context, cfg providerModel) (kube.Settings, bool, diag.Diagnostics) {
	var diags diag.Diagnostics
	known := true
	str := func(v types.String, env string) string {
		if v.IsUnknown() {
			known = false
			return ""
		}
		if !v.IsNull() {
			return v.ValueString()
		}
		return os.Getenv(env)
	}
	list := func(v types.List) []string {
		if v.IsUnknown() {
			known = false
			return nil
		}
		var out []string
		if !v.IsNull() {
			diags.Append(v.ElementsAs(ctx, &out, false)...)
		}
		return out
	}

	s := kube.Settings{
		ConfigContext:         str(cfg.ConfigContext, "KUBE_CTX"),
		ConfigContextAuthInfo: str(cfg.ConfigContextAuthInfo, "KUBE_CTX_AUTH_INFO"),
		ConfigContextCluster:  str(cfg.ConfigContextCluster, "KUBE_CTX_CLUSTER"),
		Host:                  str(cfg.Host, "KUBE_HOST"),
		Username:              str(cfg.Username, "KUBE_USER"),
		Password:              str(cfg.Password, "KUBE_PASSWORD"),
		Token:                 str(cfg.Token, "KUBE_TOKEN"),
		ClientCertificate:     str(cfg.ClientCertificate, "KUBE_CLIENT_CERT_DATA"),
		ClientKey:             str(cfg.ClientKey, "KUBE_CLIENT_KEY_DATA"),
		ClusterCACertificate:  str(cfg.ClusterCACertificate, "KUBE_CLUSTER_CA_CERT_DATA"),
		TLSServerName:         str(cfg.TLSServerName, "KUBE_TLS_SERVER_NAME"),
		ProxyURL:              str(cfg.ProxyURL, "KUBE_PROXY_URL"),
		FieldManager:          str(cfg.FieldManager, "KNATIVE_FIELD_MANAGER"),
		LogWarning:            logAPIWarning,
	}
	if s.FieldManager == "" {
		s.FieldManager = kube.DefaultFieldManager
	}

	configPath := str(cfg.ConfigPath, "KUBE_CONFIG_PATH")
	configPaths := list(cfg.ConfigPaths)
	switch {
	case configPath != "":
		s.ConfigPaths, s.ConfigPathsAttribute = []string{configPath}, "config_path"
	case len(configPaths) > 0:
		s.ConfigPaths, s.ConfigPathsAttribute = configPaths, "config_paths"
	case os.Getenv("KUBE_CONFIG_PATHS") != "":
		s.ConfigPaths, s.ConfigPathsAttribute = strings.Split(os.Getenv("KUBE_CONFIG_PATHS"), string(os.PathListSeparator)), "config_paths"
	}
	for i, p := range s.ConfigPaths {
		s.ConfigPaths[i] = kube.ExpandPath(p)
	}

	switch {
	case cfg.Insecure.IsUnknown():
		known = false
	case !cfg.Insecure.IsNull():
		s.Insecure = cfg.Insecure.ValueBool()
	default:
		s.Insecure = envBool(&diags, "KUBE_INSECURE")
	}
	switch {
	case cfg.QPS.IsUnknown():
		known = false
	case !cfg.QPS.IsNull():
		s.QPS = float32(cfg.QPS.ValueFloat64())
	case os.Getenv("KNATIVE_QPS") != "":
		if v, err := strconv.ParseFloat(os.Getenv("KNATIVE_QPS"), 32); err == nil {
			s.QPS = float32(v)
		} else {
			diags.AddAttributeError(path.Root("qps"), "Invalid KNATIVE_QPS", "KNATIVE_QPS must be a number: "+err.Error())
		}
	}
	switch {
	case cfg.Burst.IsUnknown():
		known = false
	case !cfg.Burst.IsNull():
		s.Burst = int(cfg.Burst.ValueInt64())
	case os.Getenv("KNATIVE_BURST") != "":
		if v, err := strconv.Atoi(os.Getenv("KNATIVE_BURST")); err == nil {
			s.Burst = v
		} else {
			diags.AddAttributeError(path.Root("burst"), "Invalid KNATIVE_BURST", "KNATIVE_BURST must be a whole number: "+err.Error())
		}
	}

	if len(cfg.Exec) > 0 {
		e := cfg.Exec[0]
		exec := &kube.ExecSettings{APIVersion: e.APIVersion.ValueString(), Command: e.Command.ValueString(), Args: list(e.Args)}
		if e.APIVersion.IsUnknown() || e.Command.IsUnknown() || e.Env.IsUnknown() {
			known = false
		} else if !e.Env.IsNull() {
			diags.Append(e.Env.ElementsAs(ctx, &exec.Env, false)...)
		}
		s.Exec = exec
	}
	return s, known, diags
}

func envBool(diags *diag.Diagnostics, name string) bool {
	v := os.Getenv(name)
	if v == "" {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		diags.AddError("Invalid "+name, name+" must be true or false, not "+strconv.Quote(v)+".")
	}
	return b
}

func appendFieldErrors(diags *diag.Diagnostics, errs []*kube.FieldError) {
	for _, e := range errs {
		diags.AddAttributeError(path.Root(e.Attribute), e.Summary, e.Detail)
	}
}

// logAPIWarning sends the API server's warnings to Terraform's log
// (TF_LOG=WARN shows them) instead of the provider's stderr; applies also
// report them as warnings.
func logAPIWarning(ctx context.Context, text string) {
	tflog.Warn(ctx, "Kubernetes API server warning", map[string]any{"warning": text})
}
