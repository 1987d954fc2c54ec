package provider

import (
	"context"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"knative.dev/serving/pkg/apis/autoscaling"
	knserving "knative.dev/serving/pkg/apis/serving"
)

// The typed model of knative_service and its conversion to and from the
// Knative Service object. toObject writes only what the user set; fromObject
// reads back only what is present, so a projected live object (see
// knserving.Project) round-trips to the same model unless it drifted.

type serviceModel struct {
	ID              types.String   `tfsdk:"id"`
	Name            types.String   `tfsdk:"name"`
	Namespace       types.String   `tfsdk:"namespace"`
	Labels          types.Map      `tfsdk:"labels"`
	Annotations     types.Map      `tfsdk:"annotations"`
	Template        *templateModel `tfsdk:"template"`
	Traffic         []trafficModel `tfsdk:"traffic"`
	ClusterLocal    types.Bool     `tfsdk:"cluster_local"`
	RolloutDuration types.String   `tfsdk:"rollout_duration"`
	WaitForReady    types.Bool     `tfsdk:"wait_for_ready"`
	Timeouts        timeoutsValue  `tfsdk:"timeouts"`

	serviceStatusModel
}

// serviceStatusModel is what Knative reports about a Service, shared by the
// resource and the data source.
type serviceStatusModel struct {
	readyStatusModel
	LatestCreatedRevisionName types.String `tfsdk:"latest_created_revision_name"`
	LatestReadyRevisionName   types.String `tfsdk:"latest_ready_revision_name"`
	TrafficStatus             types.List   `tfsdk:"traffic_status"`
}

// serviceStatusAttributes describe serviceStatusModel's attributes, for both schemas.
var serviceStatusAttributes = append(readyStatusAttributes("Service"),
	statusAttribute{"latest_created_revision_name", "Latest revision created.", types.StringType},
	statusAttribute{"latest_ready_revision_name", "Latest revision that became ready.", types.StringType},
	trafficStatusAttribute,
)

var trafficStatusAttribute = statusAttribute{"traffic_status", "Traffic as Knative routes it: revision_name, percent, tag, url, latest_revision.",
	types.ListType{ElemType: trafficStatusType}}

type templateModel struct {
	Name                 types.String  `tfsdk:"name"`
	Labels               types.Map     `tfsdk:"labels"`
	Annotations          types.Map     `tfsdk:"annotations"`
	ServiceAccountName   types.String  `tfsdk:"service_account_name"`
	ContainerConcurrency types.Int64   `tfsdk:"container_concurrency"`
	TimeoutSeconds       types.Int64   `tfsdk:"timeout_seconds"`
	Containers           types.List    `tfsdk:"containers"`
	Volumes              types.List    `tfsdk:"volumes"`
	ImagePullSecrets     types.List    `tfsdk:"image_pull_secrets"`
	NodeSelector         types.Map     `tfsdk:"node_selector"`
	Tolerations          types.List    `tfsdk:"tolerations"`
	Scaling              *scalingModel `tfsdk:"scaling"`
}

// podSpecField is a template attribute that is a pod spec field of the same
// name, converted generically.
type podSpecField struct {
	attribute string
	value     attr.Value
	set       func(attr.Value)
}

func (t *templateModel) podSpecFields() []podSpecField {
	return []podSpecField{
		{"service_account_name", t.ServiceAccountName, func(v attr.Value) { t.ServiceAccountName = v.(types.String) }},
		{"container_concurrency", t.ContainerConcurrency, func(v attr.Value) { t.ContainerConcurrency = v.(types.Int64) }},
		{"timeout_seconds", t.TimeoutSeconds, func(v attr.Value) { t.TimeoutSeconds = v.(types.Int64) }},
		{"containers", t.Containers, func(v attr.Value) { t.Containers = v.(types.List) }},
		{"volumes", t.Volumes, func(v attr.Value) { t.Volumes = v.(types.List) }},
		{"image_pull_secrets", t.ImagePullSecrets, func(v attr.Value) { t.ImagePullSecrets = v.(types.List) }},
		{"node_selector", t.NodeSelector, func(v attr.Value) { t.NodeSelector = v.(types.Map) }},
		{"tolerations", t.Tolerations, func(v attr.Value) { t.Tolerations = v.(types.List) }},
	}
}

type scalingModel struct {
	MinScale                    types.Int64  `tfsdk:"min_scale"`
	MaxScale                    types.Int64  `tfsdk:"max_scale"`
	InitialScale                types.Int64  `tfsdk:"initial_scale"`
	ActivationScale             types.Int64  `tfsdk:"activation_scale"`
	Target                      types.Int64  `tfsdk:"target"`
	TargetUtilizationPercentage types.Int64  `tfsdk:"target_utilization_percentage"`
	Metric                      types.String `tfsdk:"metric"`
	Class                       types.String `tfsdk:"class"`
	Window                      types.String `tfsdk:"window"`
	ScaleDownDelay              types.String `tfsdk:"scale_down_delay"`
}

type trafficModel struct {
	RevisionName   types.String `tfsdk:"revision_name"`
	LatestRevision types.Bool   `tfsdk:"latest_revision"`
	Percent        types.Int64  `tfsdk:"percent"`
	Tag            types.String `tfsdk:"tag"`
}

// scalingKeys maps scaling attributes to Knative's autoscaling annotations.
var scalingKeys = []struct {
	attr, annotation string
	number           bool
}{
	{"min_scale", autoscaling.MinScaleAnnotationKey, true},
	{"max_scale", autoscaling.MaxScaleAnnotationKey, true},
	{"initial_scale", autoscaling.InitialScaleAnnotationKey, true},
	{"activation_scale", autoscaling.ActivationScaleKey, true},
	{"target", autoscaling.TargetAnnotationKey, true},
	{"target_utilization_percentage", autoscaling.TargetUtilizationPercentageKey, true},
	{"metric", autoscaling.MetricAnnotationKey, false},
	{"class", autoscaling.ClassAnnotationKey, false},
	{"window", autoscaling.WindowAnnotationKey, false},
	{"scale_down_delay", autoscaling.ScaleDownDelayAnnotationKey, false},
}

func (s *scalingModel) fields() map[string]attr.Value {
	return map[string]attr.Value{
		"min_scale": s.MinScale, "max_scale": s.MaxScale, "initial_scale": s.InitialScale,
		"activation_scale": s.ActivationScale, "target": s.Target, "target_utilization_percentage": s.TargetUtilizationPercentage,
		"metric": s.Metric, "class": s.Class, "window": s.Window, "scale_down_delay": s.ScaleDownDelay,
	}
}

func (s *scalingModel) set(name string, v string) {
	n := func() types.Int64 { return parseInt64(v) }
	switch name {
	case "min_scale":
		s.MinScale = n()
	case "max_scale":
		s.MaxScale = n()
	case "initial_scale":
		s.InitialScale = n()
	case "activation_scale":
		s.ActivationScale = n()
	case "target":
		s.Target = n()
	case "target_utilization_percentage":
		s.TargetUtilizationPercentage = n()
	case "metric":
		s.Metric = types.StringValue(v)
	case "class":
		s.Class = types.StringValue(v)
	case "window":
		s.Window = types.StringValue(v)
	case "scale_down_delay":
		s.ScaleDownDelay = types.StringValue(v)
	}
}

func nullScaling() *scalingModel {
	return &scalingModel{
		MinScale: types.Int64Null(), MaxScale: types.Int64Null(), InitialScale: types.Int64Null(), ActivationScale: types.Int64Null(),
		Target: types.Int64Null(), TargetUtilizationPercentage: types.Int64Null(), Metric: types.StringNull(), Class: types.StringNull(),
		Window: types.StringNull(), ScaleDownDelay: types.StringNull(),
	}
}

// toObject builds the Knative Service with exactly the fields the user set.
func (m *serviceModel) toObject(ctx context.Context) *unstructured.Unstructured {
	meta := map[string]any{"name": m.Name.ValueString(), "namespace": m.Namespace.ValueString()}
	putMap(meta, "labels", withVisibility(stringMap(ctx, m.Labels), m.ClusterLocal))
	annotations := stringMap(ctx, m.Annotations)
	if !m.RolloutDuration.IsNull() && !m.RolloutDuration.IsUnknown() {
		if annotations == nil {
			annotations = map[string]any{}
		}
		annotations[knserving.RolloutDurationKey] = m.RolloutDuration.ValueString()
	}
	putMap(meta, "annotations", annotations)

	spec := map[string]any{}
	if t := m.Template; t != nil {
		spec["template"] = t.toObject(ctx)
	}
	if m.Traffic != nil {
		var traffic []any
		for _, tr := range m.Traffic {
			traffic = append(traffic, tr.toObject())
		}
		spec["traffic"] = traffic
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Service", "metadata": meta, "spec": spec,
	}}
}

func (t *templateModel) toObject(ctx context.Context) map[string]any {
	meta := map[string]any{}
	putString(meta, "name", t.Name)
	putMap(meta, "labels", stringMap(ctx, t.Labels))
	annotations := stringMap(ctx, t.Annotations)
	if t.Scaling != nil {
		fields := t.Scaling.fields()
		for _, k := range scalingKeys {
			v := fields[k.attr]
			if v.IsNull() || v.IsUnknown() {
				continue
			}
			if annotations == nil {
				annotations = map[string]any{}
			}
			switch v := v.(type) {
			case types.Int64:
				annotations[k.annotation] = strconv.FormatInt(v.ValueInt64(), 10)
			case types.String:
				annotations[k.annotation] = v.ValueString()
			}
		}
	}
	putMap(meta, "annotations", annotations)

	spec := map[string]any{}
	for _, f := range t.podSpecFields() {
		putKube(spec, kubeName(f.attribute), f.value)
	}
	out := map[string]any{"spec": spec}
	if len(meta) > 0 {
		out["metadata"] = meta
	}
	return out
}

// fromObject sets the user-settable attributes from obj (a projection of the
// live Service onto what the user set): absent fields become null.
func (m *serviceModel) fromObject(obj map[string]any) {
	meta, _ := obj["metadata"].(map[string]any)
	labels := mapOf(meta, "labels")
	m.ClusterLocal = visibilityFrom(labels)
	m.Labels = keepNullIfEmpty(m.Labels, labels)
	annotations := mapOf(meta, "annotations")
	m.RolloutDuration = types.StringNull()
	if v, ok := annotations[knserving.RolloutDurationKey]; ok {
		m.RolloutDuration = types.StringValue(v)
	}
	delete(annotations, knserving.RolloutDurationKey)
	m.Annotations = keepNullIfEmpty(m.Annotations, annotations)

	spec, _ := obj["spec"].(map[string]any)
	if tmpl, ok := spec["template"].(map[string]any); ok {
		if m.Template == nil {
			m.Template = &templateModel{Labels: types.MapNull(types.StringType), Annotations: types.MapNull(types.StringType)}
		}
		m.Template.fromObject(tmpl)
	}
	m.Traffic = nil
	if traffic, ok := spec["traffic"].([]any); ok {
		for _, item := range traffic {
			t, _ := item.(map[string]any)
			m.Traffic = append(m.Traffic, trafficModelFrom(t))
		}
	}
}

func (t *templateModel) fromObject(obj map[string]any) {
	meta, _ := obj["metadata"].(map[string]any)
	t.Name = stringFrom(meta, "name")
	t.Labels = keepNullIfEmpty(t.Labels, mapOf(meta, "labels"))
	annotations := mapOf(meta, "annotations")
	t.Scaling = nil
	for _, k := range scalingKeys {
		if v, ok := annotations[k.annotation]; ok {
			if t.Scaling == nil {
				t.Scaling = nullScaling()
			}
			t.Scaling.set(k.attr, v)
			delete(annotations, k.annotation)
		}
	}
	t.Annotations = keepNullIfEmpty(t.Annotations, annotations)

	spec, _ := obj["spec"].(map[string]any)
	for _, f := range t.podSpecFields() {
		f.set(fromKube(templateTypes[f.attribute], spec[kubeName(f.attribute)], f.value))
	}
}

func (t trafficModel) toObject() map[string]any {
	target := map[string]any{}
	putString(target, "revisionName", t.RevisionName)
	putBool(target, "latestRevision", t.LatestRevision)
	putInt(target, "percent", t.Percent)
	putString(target, "tag", t.Tag)
	return target
}

func trafficModelFrom(t map[string]any) trafficModel {
	return trafficModel{
		RevisionName: stringFrom(t, "revisionName"), LatestRevision: boolFrom(t, "latestRevision"),
		Percent: intFrom(t, "percent"), Tag: stringFrom(t, "tag"),
	}
}

const visibilityLabel = "networking.knative.dev/visibility"

// withVisibility adds the cluster-local visibility label to labels when set.
func withVisibility(labels map[string]any, clusterLocal types.Bool) map[string]any {
	if clusterLocal.ValueBool() {
		if labels == nil {
			labels = map[string]any{}
		}
		labels[visibilityLabel] = "cluster-local"
	}
	return labels
}

// visibilityFrom takes the visibility label out of labels, as cluster_local.
func visibilityFrom(labels map[string]string) types.Bool {
	clusterLocal := labels[visibilityLabel] == "cluster-local"
	delete(labels, visibilityLabel)
	return types.BoolValue(clusterLocal)
}
