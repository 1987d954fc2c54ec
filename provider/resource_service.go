package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
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
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
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
			"labels":      optMap("Labels of the Service. Only these keys are managed."),
			"annotations": optMap("Annotations of the Service. Only these keys are managed; keys Knative adds (serving.knative.dev/creator, lastModifier) are not."),
			"template":    templateAttribute(),
			"traffic": schema.ListNestedAttribute{
				Optional:    true,
				Description: "Traffic split. Default: all traffic to the latest ready revision.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"revision_name":   optString("A named revision."),
					"latest_revision": schema.BoolAttribute{Optional: true, Description: "Send to the latest ready revision."},
					"percent":         schema.Int64Attribute{Optional: true, Description: "Share of traffic.", Validators: []validator.Int64{int64validator.Between(0, 100)}},
					"tag":             optString("Tag: the target gets its own URL."),
				}},
			},
			"cluster_local": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				Description: "Reachable only inside the cluster (networking.knative.dev/visibility=cluster-local)."},
			"rollout_duration": optString("Gradual rollout of new revisions, such as 380s (serving.knative.dev/rollout-duration)."),
			"wait_for_ready": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
				Description: "Wait until the Service is Ready after create and update. Default true."},
		},
		Blocks: map[string]schema.Block{
			"timeouts": timeouts.Block(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
	for _, a := range serviceStatusAttributes {
		resp.Schema.Attributes[a.name] = computedAttribute(a.typ, a.description)
	}
	resp.Schema.Attributes = withCachedTypes(resp.Schema.Attributes)
}

// computedAttribute is a resource attribute only Knative sets.
func computedAttribute(typ attr.Type, description string) schema.Attribute {
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

// templateAttribute is the revision template. Its pod-spec attributes mirror
// the Kubernetes API in snake_case and convert generically (see toKube).
func templateAttribute() schema.SingleNestedAttribute {
	keyRef := func(desc string) schema.SingleNestedAttribute {
		return optObject(desc, map[string]schema.Attribute{
			"name":     reqString("Name of the object."),
			"key":      reqString("Key in the object's data."),
			"optional": optBool("Start even when the object or key does not exist."),
		})
	}
	objectRef := func(desc string) schema.SingleNestedAttribute {
		return optObject(desc, map[string]schema.Attribute{
			"name":     reqString("Name of the object."),
			"optional": optBool("Start even when the object does not exist."),
		})
	}
	keyToPath := optList("Keys to project, each to a file path; default all keys, each to a file named after it.", map[string]schema.Attribute{
		"key":  reqString("Key in the object's data."),
		"path": reqString("Relative file path."),
		"mode": fileMode("Mode of this file, such as 0400 as 256."),
	})
	probe := func(desc, portDesc string) schema.SingleNestedAttribute {
		port := optInt(portDesc, 1)
		return optObject(desc, map[string]schema.Attribute{
			"http_get": optObject("HTTP GET probe.", map[string]schema.Attribute{
				"path":   optString("Path."),
				"port":   port,
				"scheme": optStringOneOf("HTTP (default) or HTTPS.", "HTTP", "HTTPS"),
				"http_headers": optList("Request headers.", map[string]schema.Attribute{
					"name": reqString("Header name."), "value": reqString("Header value."),
				}),
			}),
			"tcp_socket": optObject("TCP probe.", map[string]schema.Attribute{"port": port}),
			"grpc": optObject("gRPC health probe.", map[string]schema.Attribute{
				"port": port, "service": optString("Service name in the health check request."),
			}),
			"exec":                  optObject("Command probe.", map[string]schema.Attribute{"command": optStrings("Command and arguments.")}),
			"initial_delay_seconds": optInt("Delay before the first probe.", 0),
			"period_seconds":        optInt("Interval; 0 on a readiness probe makes the queue-proxy probe aggressively until ready.", 0),
			"timeout_seconds":       optInt("Timeout of one probe.", 1),
			"success_threshold":     optInt("Successes after a failure before healthy again.", 1),
			"failure_threshold":     optInt("Failures before unhealthy.", 1),
		})
	}
	container := map[string]schema.Attribute{
		"name":              optString("Container name; Knative names a lone container user-container."),
		"image":             reqString("Image; Knative resolves tags to digests (registries listed in config-deployment's registries-skipping-tag-resolving are not resolved)."),
		"image_pull_policy": optStringOneOf("Always, IfNotPresent or Never.", "Always", "IfNotPresent", "Never"),
		"command":           optStrings("Entrypoint."),
		"args":              optStrings("Arguments."),
		"working_dir":       optString("Working directory."),
		"env": optList("Environment variables.", map[string]schema.Attribute{
			"name":  reqString("Variable name."),
			"value": optString("Value."),
			"value_from": optObject("Value from a Secret or ConfigMap key, or a field of the pod.", map[string]schema.Attribute{
				"secret_key_ref":     keyRef("A key of a Secret."),
				"config_map_key_ref": keyRef("A key of a ConfigMap."),
				"field_ref": optObject("A field of the pod, such as metadata.namespace (needs kubernetes.podspec-fieldref in config-features).", map[string]schema.Attribute{
					"field_path":  reqString("Path of the field."),
					"api_version": optString("API version of the path; default v1."),
				}),
				"resource_field_ref": optObject("A resource of a container, such as limits.memory (needs kubernetes.podspec-fieldref).", map[string]schema.Attribute{
					"resource":       reqString("Resource, such as limits.cpu."),
					"container_name": optString("Container; default this one."),
					"divisor":        optString("Unit of the value, such as 1Mi."),
				}),
			}),
		}),
		"env_from": optList("All keys of Secrets or ConfigMaps as environment variables.", map[string]schema.Attribute{
			"prefix":         optString("Prefix of every variable name."),
			"secret_ref":     objectRef("A Secret."),
			"config_map_ref": objectRef("A ConfigMap."),
		}),
		"ports": schema.ListNestedAttribute{Optional: true, Description: "The port the container serves on (one at most).",
			Validators: []validator.List{listvalidator.SizeAtMost(1)},
			NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
				"name": optStringOneOf("Protocol: http1 (default) or h2c (HTTP/2 cleartext, gRPC).", "http1", "h2c"),
				"container_port": schema.Int64Attribute{Required: true, Description: "Port number.",
					Validators: []validator.Int64{int64validator.Between(1, 65535)}},
			}}},
		"resources": optObject("Compute resources.", map[string]schema.Attribute{
			"limits":   optMap("Limits, such as { cpu = \"1\", memory = \"512Mi\" }."),
			"requests": optMap("Requests."),
		}),
		"readiness_probe": probe("Readiness probe (Knative's queue-proxy runs it).", "Port; defaults to the serving port."),
		"liveness_probe":  probe("Liveness probe: the container restarts when it fails.", "Port; defaults to the serving port."),
		"startup_probe": probe("Startup probe: the other probes wait until it succeeds.",
			"Port; required with http_get and tcp_socket, since Knative does not fill it in for startup probes."),
		"volume_mounts": optList("Volumes mounted into the container.", map[string]schema.Attribute{
			"name":       reqString("Name of a volume in template.volumes."),
			"mount_path": reqString("Absolute path to mount at."),
			"read_only":  optBool("Mount read-only (Knative requires it for secret, config map and projected volumes)."),
			"sub_path":   optString("Path inside the volume to mount instead of its root."),
		}),
		"security_context": optObject("Security settings of the container (the subset Knative allows).", map[string]schema.Attribute{
			"run_as_user":                optInt("User ID.", 0),
			"run_as_group":               optInt("Group ID.", 0),
			"run_as_non_root":            optBool("Refuse to start as root."),
			"read_only_root_filesystem":  optBool("Read-only root file system."),
			"allow_privilege_escalation": optBool("Allow gaining more privileges than the parent process."),
			"capabilities": optObject("Linux capabilities (adding one other than NET_BIND_SERVICE needs kubernetes.containerspec-addcapabilities).", map[string]schema.Attribute{
				"add": optStrings("Capabilities to add."), "drop": optStrings("Capabilities to drop, such as ALL."),
			}),
			"seccomp_profile": optObject("Seccomp profile.", map[string]schema.Attribute{
				"type":              optStringOneOf("RuntimeDefault, Unconfined or Localhost.", "RuntimeDefault", "Unconfined", "Localhost"),
				"localhost_profile": optString("Profile file on the node, with type Localhost."),
			}),
		}),
	}
	return schema.SingleNestedAttribute{
		Required: true, Description: "The revision template: every change creates a new revision.",
		Attributes: map[string]schema.Attribute{
			"name": optString("Name of the revision this template creates; must start with the Service's name and a dash. " +
				"When set, change it with every template change (a revision name cannot be reused)."),
			"labels":                optMap("Labels of the revisions."),
			"annotations":           optMap("Annotations of the revisions. Use scaling for autoscaling.knative.dev keys."),
			"service_account_name":  optString("Service account the revision's pods run as."),
			"container_concurrency": optInt("Maximum concurrent requests per container; 0 (Knative's default) means unlimited.", 0),
			"timeout_seconds":       optInt("Maximum duration of a request in seconds.", 1),
			"containers": schema.ListNestedAttribute{
				Required: true, Description: "Containers of the revision; exactly one of them serves requests (has a port or is alone).",
				Validators:   []validator.List{listvalidator.SizeAtLeast(1)},
				NestedObject: schema.NestedAttributeObject{Attributes: container},
			},
			"volumes": optList("Volumes the containers can mount: exactly one of secret, config_map, projected or empty_dir each.", map[string]schema.Attribute{
				"name": reqString("Volume name, referred to by volume_mounts."),
				"secret": optObject("A Secret's keys as files.", map[string]schema.Attribute{
					"secret_name":  reqString("Name of the Secret."),
					"items":        keyToPath,
					"default_mode": fileMode("Mode of the files, such as 0644 as 420."),
					"optional":     optBool("Start even when the Secret does not exist."),
				}),
				"config_map": optObject("A ConfigMap's keys as files.", map[string]schema.Attribute{
					"name":         reqString("Name of the ConfigMap."),
					"items":        keyToPath,
					"default_mode": fileMode("Mode of the files, such as 0644 as 420."),
					"optional":     optBool("Start even when the ConfigMap does not exist."),
				}),
				"projected": optObject("Several sources in one directory.", map[string]schema.Attribute{
					"default_mode": fileMode("Mode of the files."),
					"sources": schema.ListNestedAttribute{Required: true, Description: "Sources: one of secret, config_map or service_account_token each.",
						NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
							"secret": optObject("A Secret's keys.", map[string]schema.Attribute{
								"name": reqString("Name of the Secret."), "items": keyToPath, "optional": optBool("Tolerate a missing Secret."),
							}),
							"config_map": optObject("A ConfigMap's keys.", map[string]schema.Attribute{
								"name": reqString("Name of the ConfigMap."), "items": keyToPath, "optional": optBool("Tolerate a missing ConfigMap."),
							}),
							"service_account_token": optObject("A token of the service account.", map[string]schema.Attribute{
								"path":               reqString("File path of the token."),
								"audience":           optString("Audience of the token; default the API server."),
								"expiration_seconds": optInt("Requested lifetime; at least 600.", 600),
							}),
						}}},
				}),
				"empty_dir": optObject("A scratch directory that lives as long as the pod.", map[string]schema.Attribute{
					"medium":     optStringOneOf("\"\" (node disk, default) or Memory.", "", "Memory"),
					"size_limit": optString("Size limit, such as 512Mi."),
				}),
			}),
			"image_pull_secrets": optList("Secrets with credentials for pulling the images.", map[string]schema.Attribute{
				"name": reqString("Name of the Secret."),
			}),
			"node_selector": optMap("Node labels the pods must run on (needs kubernetes.podspec-nodeselector in config-features)."),
			"tolerations": optList("Taints the pods tolerate (needs kubernetes.podspec-tolerations in config-features).", map[string]schema.Attribute{
				"key":                optString("Taint key; empty with operator Exists matches every taint."),
				"operator":           optStringOneOf("Equal (default) or Exists.", "Equal", "Exists"),
				"value":              optString("Taint value, with operator Equal."),
				"effect":             optStringOneOf("NoSchedule, PreferNoSchedule or NoExecute; empty matches all.", "NoSchedule", "PreferNoSchedule", "NoExecute"),
				"toleration_seconds": optInt("With NoExecute: how long the pod stays after the taint appears.", 0),
			}),
			"scaling": optObject("Autoscaling of the revisions (autoscaling.knative.dev annotations).", map[string]schema.Attribute{
				"min_scale":                     optInt("Minimum replicas; 0 allows scale to zero.", 0),
				"max_scale":                     optInt("Maximum replicas; 0 means unlimited.", 0),
				"initial_scale":                 optInt("Replicas when a revision is created.", 0),
				"activation_scale":              optInt("Replicas when scaling from zero.", 1),
				"target":                        optInt("Target value of the metric per replica.", 1),
				"target_utilization_percentage": optInt("Percentage of the target at which to scale.", 1),
				"metric":                        optString("concurrency, rps, cpu or memory (cpu and memory need class hpa.autoscaling.knative.dev)."),
				"class":                         optString("kpa.autoscaling.knative.dev (default) or hpa.autoscaling.knative.dev."),
				"window":                        optString("Stable window, such as 60s."),
				"scale_down_delay":              optString("Delay before scaling down, such as 15m."),
			}),
		},
	}
}

// templateTypes are the attribute types of the template, for reading a live
// Service into a template the state does not hold yet (import).
var templateTypes = templateAttribute().GetType().(types.ObjectType).AttrTypes

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
	resp.Diagnostics.Append(startupProbePorts(m.Template.Containers)...)
	// Fields behind Knative's feature flags depend on the cluster's
	// config-features: ModifyPlan checks those against the cluster.
	obj := m.toObject(ctx)
	if err := serving.ValidateService(apis.WithinCreate(ctx), obj.Object, serving.EveryFeatureEnabled()); err != nil {
		addKnativeErrors(ctx, &resp.Diagnostics, req.Config, serviceFields, "Invalid Knative Service", "Knative's validation rejects this Service", err)
	}
}

// startupProbePorts requires the port of HTTP and TCP startup probes. Knative
// fills in the serving port for liveness and readiness probes only; without
// one, the revision's Deployment is invalid and the revision never starts.
func startupProbePorts(containers types.List) diag.Diagnostics {
	var diags diag.Diagnostics
	items, _ := toKube(containers)
	list, _ := items.([]any)
	for i, item := range list {
		probe, _ := item.(map[string]any)["startupProbe"].(map[string]any)
		for attribute, handler := range map[string]string{"http_get": "httpGet", "tcp_socket": "tcpSocket"} {
			if h, ok := probe[handler].(map[string]any); ok && h["port"] == nil {
				at := path.Root("template").AtName("containers").AtListIndex(i).AtName("startup_probe").AtName(attribute).AtName("port")
				diags.AddAttributeError(at, "Startup probe without a port", at.String()+" is not set. Knative fills in the serving port for liveness "+
					"and readiness probes but not for startup probes, and a revision whose probe has no port never starts. "+
					"Set the port the container serves on (8080 unless ports says otherwise).")
			}
		}
	}
	return diags
}

// ModifyPlan keeps the status values an update cannot change, refuses a
// changed template that keeps its explicit revision name
// (Knative cannot create a second revision with the same name) and warns when
// the cluster's feature flags would make Knative's webhook refuse the Service.
func (r *serviceResource) ModifyPlan(ctx context.Context, req tfresource.ModifyPlanRequest, resp *tfresource.ModifyPlanResponse) {
	r.lifecycle().keepUnchangedStatus(ctx, req, resp)
	// The plan of an update always has unknown computed values; what matters
	// is that the configured template is known.
	if req.Plan.Raw.IsNull() || !req.Config.Raw.IsFullyKnown() {
		return
	}
	var plan serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Template == nil {
		return
	}
	flagged := r.warnAboutFeatureFlags(ctx, &plan, &resp.Diagnostics)
	r.refuseReusedRevisionName(ctx, req, &plan, &resp.Diagnostics)
	if !flagged && !resp.Diagnostics.HasError() {
		// Not when a feature flag is off: the webhook would refuse what a
		// knative_serving_config in the same apply may be enabling. Not when
		// the plan is refused already: the provider's own words are clearer.
		r.lifecycle().dryRun(ctx, req, &plan, serviceFields, &resp.Diagnostics)
	}
}

// refuseReusedRevisionName refuses a changed template that keeps its
// explicit revision name: Knative cannot create a second revision with it.
func (r *serviceResource) refuseReusedRevisionName(ctx context.Context, req tfresource.ModifyPlanRequest, plan *serviceModel, diags *diag.Diagnostics) {
	if req.State.Raw.IsNull() {
		return
	}
	var state serviceModel
	diags.Append(req.State.Get(ctx, &state)...)
	if diags.HasError() || state.Template == nil {
		return
	}
	name := plan.Template.Name
	if !known(name) || !name.Equal(state.Template.Name) {
		return
	}
	if !reflect.DeepEqual(normalized(plan.Template.toObject(ctx)), normalized(state.Template.toObject(ctx))) {
		diags.AddAttributeError(path.Root("template").AtName("name"), "Revision name reused",
			fmt.Sprintf("The template changes but its revision name stays %q, and Knative cannot create a second revision with the same name. "+
				"Give template.name a new value with every template change, or remove it to let Knative name revisions.", name.ValueString()))
	}
}

// warnAboutFeatureFlags checks a Service that uses fields Knative gates behind
// config-features flags against the cluster's flags. It warns rather than
// fails: a knative_serving_config in the same apply may be enabling them.
// Services that need no flag cost no request.
func (r *serviceResource) warnAboutFeatureFlags(ctx context.Context, plan *serviceModel, diags *diag.Diagnostics) (warned bool) {
	obj := plan.toObject(ctx).Object
	if serving.ValidateService(apis.WithinCreate(ctx), obj, nil) == nil || r.data == nil {
		return false
	}
	clients, err := r.data.Clients.Get()
	if err != nil {
		return false // the cluster is not known yet; the webhook decides at apply
	}
	features, err := serving.ClusterFeatures(ctx, clients)
	if err != nil || features == nil {
		return false
	}
	if err := serving.ValidateService(apis.WithinCreate(ctx), obj, features); err != nil {
		warned = true
		diags.AddAttributeWarning(path.Root("template"), "Knative feature flag not enabled",
			"With the cluster's current config-features, Knative's webhook refuses this Service: "+err.Error()+". "+
				"Enable the flag the field needs (such as kubernetes.podspec-nodeselector, kubernetes.podspec-tolerations or "+
				"kubernetes.podspec-fieldref) with a knative_serving_config named \"features\" that this Service depends on, or the apply fails.")
	}
	return warned
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

// serviceStatus: the URL depends on what config-domain's template and
// selectors read (name and namespace replace the Service); revisions on the
// template; Knative decides readiness again after any change it reconciles.
var serviceStatus = func() statusDependencies {
	reconciled := []string{"template", "traffic", "labels", "annotations", "cluster_local", "rollout_duration"}
	return statusDependencies{
		"url":                          {"labels", "annotations", "cluster_local"},
		"address_url":                  {"labels", "annotations", "cluster_local"},
		"latest_created_revision_name": {"template"},
		"latest_ready_revision_name":   {"template"},
		"traffic_status":               {"template", "traffic", "labels", "annotations", "cluster_local"},
		"observed_generation":          {"template", "traffic"},
		"ready":                        reconciled,
		"conditions":                   reconciled,
	}
}()

func (r *serviceResource) lifecycle() lifecycle {
	return lifecycle{kind: serving.Service, data: r.data, typeName: "knative_service", example: "default/hello", status: serviceStatus}
}

func (m *serviceModel) common() *objectCommon {
	return &objectCommon{ID: &m.ID, Namespace: m.Namespace, Name: m.Name, WaitForReady: m.WaitForReady}
}

func (r *serviceResource) Create(ctx context.Context, req tfresource.CreateRequest, resp *tfresource.CreateResponse) {
	var plan serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	timeout, diags := plan.Timeouts.Create(ctx, serviceCreateTimeout)
	resp.Diagnostics.Append(diags...)
	r.applyAndWait(ctx, timeout, true, &plan, &resp.State, resp.Private, &resp.Diagnostics)
}

func (r *serviceResource) Update(ctx context.Context, req tfresource.UpdateRequest, resp *tfresource.UpdateResponse) {
	var plan serviceModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	timeout, diags := plan.Timeouts.Update(ctx, serviceUpdateTimeout)
	resp.Diagnostics.Append(diags...)
	r.applyAndWait(ctx, timeout, false, &plan, &resp.State, resp.Private, &resp.Diagnostics)
}

// applyAndWait converges the Service and records the version of it the state
// reflects, if a refresh of that version would reproduce the state.
func (r *serviceResource) applyAndWait(ctx context.Context, timeout time.Duration, creating bool, plan *serviceModel, state *tfsdk.State, private privateState, diags *diag.Diagnostics) {
	if diags.HasError() {
		return
	}
	r.lifecycle().converge(ctx, timeout, creating, plan, state, private, diags, nil)
}

func (r *serviceResource) Read(ctx context.Context, req tfresource.ReadRequest, resp *tfresource.ReadResponse) {
	l := r.lifecycle()
	live := l.readChanged(ctx, req, resp)
	if live == nil {
		return
	}
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	l.refresh(ctx, &state, live, state.Template == nil)
	resp.Diagnostics.Append(resp.State.Set(ctx, state)...)
	l.recordObserved(ctx, resp.Private, &state, live, &resp.Diagnostics)
}

func (r *serviceResource) Delete(ctx context.Context, req tfresource.DeleteRequest, resp *tfresource.DeleteResponse) {
	var state serviceModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	timeout, diags := state.Timeouts.Delete(ctx, serviceDeleteTimeout)
	resp.Diagnostics.Append(diags...)
	if !resp.Diagnostics.HasError() {
		r.lifecycle().delete(ctx, timeout, &state, &resp.Diagnostics)
	}
}

// ImportState takes namespace/name.
func (r *serviceResource) ImportState(ctx context.Context, req tfresource.ImportStateRequest, resp *tfresource.ImportStateResponse) {
	r.lifecycle().importState(ctx, req, resp, map[string]any{"cluster_local": false})
}

// setStatus fills the computed attributes from the live Service.
func (m *serviceStatusModel) setStatus(live *unstructured.Unstructured) {
	m.setReadyStatus(live)
	status, _ := live.Object["status"].(map[string]any)
	m.LatestCreatedRevisionName = stringOrEmpty(status, "latestCreatedRevisionName")
	m.LatestReadyRevisionName = stringOrEmpty(status, "latestReadyRevisionName")
	m.TrafficStatus = trafficStatusOf(status)
}

func stringOrEmpty(m map[string]any, key string) types.String {
	if s, ok := m[key].(string); ok {
		return types.StringValue(s)
	}
	return types.StringValue("")
}
