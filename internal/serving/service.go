package serving

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	apisconfig "knative.dev/serving/pkg/apis/config"
	knserving "knative.dev/serving/pkg/apis/serving"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// ValidateService runs Knative's own defaulting and validation (the webhook's
// rules, from knative.dev/serving's types) on a Service, so bad input fails
// at plan time with the webhook's words, before anything is written.
// features are the cluster's config-features; nil means Knative's defaults.
func ValidateService(ctx context.Context, obj map[string]any, features *apisconfig.Features) error {
	if features != nil {
		cfg := *apisconfig.FromContextOrDefaults(ctx)
		cfg.Features = features
		ctx = apisconfig.ToContext(ctx, &cfg)
	}
	return validateTyped(ctx, obj, &servingv1.Service{}, apivalidation.NameIsDNS1035Label)
}

// EveryFeatureEnabled is config-features with every pod spec field Knative
// gates behind a flag enabled: validating with it checks a Service's shape
// whatever the cluster's flags are.
func EveryFeatureEnabled() *apisconfig.Features {
	features, _ := apisconfig.NewFeaturesConfigFromMap(nil)
	v := reflect.ValueOf(features).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Type() == reflect.TypeFor[apisconfig.Flag]() && v.Type().Field(i).Name != "SecurePodDefaults" {
			f.Set(reflect.ValueOf(apisconfig.Enabled))
		}
	}
	return features
}

// ClusterFeatures reads the cluster's config-features with Knative's parser;
// nil without error when Knative Serving is not installed.
func ClusterFeatures(ctx context.Context, clients *kube.Clients) (*apisconfig.Features, error) {
	cm, err := clients.Kubernetes.CoreV1().ConfigMaps(Namespace).Get(ctx, "config-features", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return apisconfig.NewFeaturesConfigFromMap(cm.Data)
}

// Service is Knative's Service, managed through the engine's lifecycle. Its
// validation runs with every feature flag enabled (the shape is checked
// whatever the cluster's flags; the webhook judges the flags at apply).
var Service = &Kind{
	GVR: ServicesGVR, Kind: "Service", Name: "Knative Service",
	validate: func(ctx context.Context, obj map[string]any) error {
		return ValidateService(ctx, obj, EveryFeatureEnabled())
	},
	adopt: withoutServiceDefaults,
	prepareCreate: func(ctx context.Context, o Objects, namespace, name string) error {
		return o.waitForLeftovers(ctx, namespace, name)
	},
	// Foreground deletion cascades one level reliably (the Configuration
	// and Route), not always to the Revisions and their Deployments: a
	// destroy returns once they are gone too.
	afterDelete: func(ctx context.Context, o Objects, namespace, name string) error {
		return o.waitForLeftovers(ctx, namespace, name)
	},
}

// leftoverKinds are what Knative derives from a Service, all labelled with
// serving.knative.dev/service: Routes, Configurations, Revisions, and per
// revision a Deployment, PodAutoscaler, ServerlessService and Kubernetes
// Services; per route a KIngress.
var leftoverKinds = []schema.GroupVersionResource{
	RoutesGVR, configurationsGVR, RevisionsGVR, DeploymentsGVR, podAutoscalersGVR,
	serverlessServicesGVR, ingressesGVR, kubernetesServicesGVR,
}

// waitForLeftovers returns once nothing a previously deleted Service of this
// name derived remains: after an out-of-band delete with background
// propagation those objects linger until the garbage collector gets to them,
// and the new Service's objects (same generated names) would collide with
// them. A leftover that nothing owns is a conflict the user must resolve.
func (o Objects) waitForLeftovers(ctx context.Context, namespace, name string) error {
	selector := metav1.ListOptions{LabelSelector: knserving.ServiceLabelKey + "=" + name}
	// One LIST per kind, all at once: a create pays one round trip, not eight.
	remaining := func() ([]unstructured.Unstructured, error) {
		lists := make([][]unstructured.Unstructured, len(leftoverKinds))
		var g errgroup.Group
		for i, gvr := range leftoverKinds {
			g.Go(func() error {
				list, err := o.Clients.Dynamic.Resource(gvr).Namespace(namespace).List(ctx, selector)
				if apierrors.IsNotFound(err) {
					return nil
				}
				if err == nil {
					lists[i] = list.Items
				}
				return err
			})
		}
		if err := g.Wait(); err != nil {
			return nil, err
		}
		return slices.Concat(lists...), nil
	}
	leftovers, err := remaining()
	if err != nil || len(leftovers) == 0 {
		return err
	}
	for _, obj := range leftovers {
		if len(obj.GetOwnerReferences()) == 0 {
			return fmt.Errorf("a %s %s/%s labelled as part of Knative Service %q exists that nothing owns, so Knative cannot create the Service's own; delete it first",
				obj.GetKind(), namespace, obj.GetName(), name)
		}
	}
	last, err := pollRead(ctx, remaining, empty)
	if err != nil {
		if last != nil {
			leftovers = last
		}
		return fmt.Errorf("%d objects of a deleted Service of the same name (such as %s %s) are still being garbage collected: %w",
			len(leftovers), leftovers[0].GetKind(), leftovers[0].GetName(), err)
	}
	return nil
}

// Revisions lists the revisions of a Service (of its Configuration), oldest
// first: one request, by the label Knative puts on them.
func Revisions(ctx context.Context, clients *kube.Clients, namespace, name string) ([]unstructured.Unstructured, error) {
	list, err := clients.Dynamic.Resource(RevisionsGVR).Namespace(namespace).List(ctx, metav1.ListOptions{LabelSelector: knserving.ServiceLabelKey + "=" + name})
	if err != nil {
		return nil, err
	}
	generation := func(r unstructured.Unstructured) int64 {
		g, _ := strconv.ParseInt(r.GetLabels()[knserving.ConfigurationGenerationLabelKey], 10, 64)
		return g
	}
	slices.SortFunc(list.Items, func(a, b unstructured.Unstructured) int { return cmp.Compare(generation(a), generation(b)) })
	return list.Items, nil
}

// withoutServiceDefaults drops what Knative's webhook fills into a Service's
// spec: the default traffic, the default container name, concurrency and
// timeout, probe ports it will fill in, the default readiness probe.
func withoutServiceDefaults(spec map[string]any) {
	if traffic, ok := spec["traffic"].([]any); ok && len(traffic) == 1 {
		if t, _ := traffic[0].(map[string]any); t["latestRevision"] == true && fmt.Sprint(t["percent"]) == "100" && len(t) == 2 {
			delete(spec, "traffic")
		}
	}
	tmpl, _ := spec["template"].(map[string]any)
	if tmeta, ok := tmpl["metadata"].(map[string]any); ok {
		TrimSystemKeys(tmeta)
		delete(tmeta, "creationTimestamp")
		if len(tmeta) == 0 {
			delete(tmpl, "metadata")
		}
	}
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
		// The webhook marks probe ports it will fill in as 0, and gives a
		// container without a readiness probe a TCP one.
		for _, kind := range []string{"readinessProbe", "livenessProbe"} {
			probe, _ := c[kind].(map[string]any)
			for _, handler := range []string{"httpGet", "tcpSocket"} {
				if h, ok := probe[handler].(map[string]any); ok && fmt.Sprint(h["port"]) == "0" {
					delete(h, "port")
				}
			}
		}
		if probe, ok := c["readinessProbe"].(map[string]any); ok {
			socket, _ := probe["tcpSocket"].(map[string]any)
			if len(probe) == 2 && fmt.Sprint(probe["successThreshold"]) == "1" && socket != nil && len(socket) == 0 {
				delete(c, "readinessProbe")
			}
		}
	}
}
