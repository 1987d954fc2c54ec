package serving

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/client-go/tools/cache"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

// Spec is the desired Knative Serving runtime.
type Spec struct {
	Version string
	// Ingress is a networking layer of Layers, or External.
	Ingress string
	// External is the networking layer the user brings when Ingress is External.
	External ExternalIngress
	// Replicas of every control plane deployment (high availability); 0 keeps
	// the release's own counts.
	Replicas int
	Registry Registry
}

// WithDefaults is spec with what both frontends leave unset filled in: the
// default version (the newest embedded release) and networking layer (Kourier).
func (s Spec) WithDefaults() Spec {
	if s.Version == "" {
		s.Version = manifests.DefaultVersion
	}
	if s.Ingress == "" {
		s.Ingress = manifests.DefaultIngress
	}
	return s
}

// Registry rewrites image references for mirrored or air-gapped registries,
// the way the Knative Operator's spec.registry does. Every image has a name,
// ${NAME}: for Knative Serving core's containers the container's name
// (controller, webhook, autoscaler, activator, and queue-proxy for the
// sidecar), as the Operator names them; for a networking layer's containers
// the Deployment's name (net-kourier-controller, 3scale-kourier-gateway,
// net-istio-controller, ...), since the layers' containers reuse the core's
// container names (controller, webhook) for images of their own. Override
// maps a name, or "deployment/container" exactly, to an image; Default is a
// template in which ${NAME} is replaced by the name. Distinct images of the
// release so get distinct references.
type Registry struct {
	Default  string
	Override map[string]string
}

// ReleaseSelector selects the objects of Knative's release (all but a few).
const ReleaseSelector = releaseLabel + "=" + releaseLabelValue

// Label every object of the release carries but one (see unlabeled in observe.go).
const (
	releaseLabel      = "app.kubernetes.io/name"
	releaseLabelValue = "knative-serving"
	queueProxy        = "queue-proxy"
)

// Desired returns the objects of spec in manifest order (Knative Serving
// core, then the networking layer's), with the spec's transformations applied.
func Desired(spec Spec) ([]*unstructured.Unstructured, error) {
	core, err := manifests.LoadCore(spec.Version)
	if err != nil {
		return nil, err
	}
	layer, err := spec.layerObjects()
	if err != nil {
		return nil, err
	}
	objs := slices.Concat(core, layer)
	hpaTargets := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == "HorizontalPodAutoscaler" {
			name, _, _ := unstructured.NestedString(o.Object, "spec", "scaleTargetRef", "name")
			hpaTargets[o.GetNamespace()+"/"+name] = true
		}
	}
	for i, o := range objs {
		if _, err := kindOf(o); err != nil {
			return nil, err
		}
		// A layer's images are named by their Deployments (see Registry).
		ofLayer := i >= len(core)
		switch o.GetKind() {
		case "ConfigMap":
			if err := transformConfigMap(o, spec); err != nil {
				return nil, err
			}
		case "ClusterRole":
			// kube-controller-manager fills in the rules of aggregated roles;
			// applying the release's empty list would fight it.
			if _, ok := o.Object["aggregationRule"]; ok {
				delete(o.Object, "rules")
			}
		case "Deployment":
			if err := transformDeployment(o, spec, hpaTargets[o.GetNamespace()+"/"+o.GetName()], ofLayer); err != nil {
				return nil, err
			}
		case "HorizontalPodAutoscaler":
			if err := scaleHPA(o, spec.Replicas); err != nil {
				return nil, err
			}
		case "Image": // caching.internal.knative.dev: pre-pulls the queue-proxy image
			if img := spec.Registry.image("", queueProxy, queueProxy); img != "" {
				if err := unstructured.SetNestedField(o.Object, img, "spec", "image"); err != nil {
					return nil, err
				}
			}
		}
	}
	return objs, nil
}

func transformConfigMap(o *unstructured.Unstructured, spec Spec) error {
	switch {
	case o.GetNamespace() == Namespace && o.GetName() == "config-network":
		// The release leaves Istio as the default ingress class.
		return unstructured.SetNestedField(o.Object, spec.IngressClass(), "data", "ingress-class")
	case o.GetNamespace() == Namespace && o.GetName() == "config-deployment":
		if img := spec.Registry.image("", queueProxy, queueProxy); img != "" {
			return unstructured.SetNestedField(o.Object, img, "data", "queue-sidecar-image")
		}
	case o.GetNamespace() == Namespace && o.GetName() == "config-leader-election" && spec.Replicas > 1:
		// One bucket per replica spreads reconciliation over the replicas.
		return unstructured.SetNestedField(o.Object, strconv.Itoa(spec.Replicas), "data", "buckets")
	}
	return nil
}

func transformDeployment(o *unstructured.Unstructured, spec Spec, hpaTarget, ofLayer bool) error {
	if hpaTarget {
		// The HPA owns the replica count; applying one would fight it.
		unstructured.RemoveNestedField(o.Object, "spec", "replicas")
	} else if spec.Replicas > 0 {
		if err := unstructured.SetNestedField(o.Object, int64(spec.Replicas), "spec", "replicas"); err != nil {
			return err
		}
	}
	for _, field := range []string{"containers", "initContainers"} {
		containers, found, err := unstructured.NestedSlice(o.Object, "spec", "template", "spec", field)
		if err != nil || !found {
			continue
		}
		for i, c := range containers {
			container, ok := c.(map[string]any)
			if !ok {
				return fmt.Errorf("deployment %s: malformed container", o.GetName())
			}
			name, _ := container["name"].(string)
			imageName := name
			if ofLayer {
				imageName = o.GetName()
			}
			if img := spec.Registry.image(o.GetName(), name, imageName); img != "" {
				container["image"] = img
			}
			containers[i] = container
		}
		if err := unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", field); err != nil {
			return err
		}
	}
	return nil
}

func scaleHPA(o *unstructured.Unstructured, replicas int) error {
	if replicas <= 0 {
		return nil
	}
	minReplicas, _, _ := unstructured.NestedInt64(o.Object, "spec", "minReplicas")
	maxReplicas, _, _ := unstructured.NestedInt64(o.Object, "spec", "maxReplicas")
	if int64(replicas) > minReplicas {
		minReplicas = int64(replicas)
	}
	if maxReplicas < minReplicas {
		maxReplicas = minReplicas
	}
	if err := unstructured.SetNestedField(o.Object, minReplicas, "spec", "minReplicas"); err != nil {
		return err
	}
	return unstructured.SetNestedField(o.Object, maxReplicas, "spec", "maxReplicas")
}

// image returns the rewritten image of a container of a deployment ("" for
// the queue-proxy sidecar, which no deployment of the release runs) whose
// image is named name (see Registry), or "" to keep the release's.
func (r Registry) image(deployment, container, name string) string {
	if img, ok := r.Override[deployment+"/"+container]; ok && deployment != "" {
		return img
	}
	if img, ok := r.Override[name]; ok {
		return img
	}
	if r.Default != "" {
		return strings.ReplaceAll(r.Default, "${NAME}", name)
	}
	return ""
}

// kind describes how to reach objects of one kind through the API.
type kind struct {
	GVR        schema.GroupVersionResource
	Namespaced bool
}

// builtinKinds are the Kubernetes kinds the release manifests use. A static
// table instead of discovery: an install or a refresh costs no discovery calls.
var builtinKinds = map[string]kind{
	"v1/Namespace":                      {schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}, false},
	"v1/ServiceAccount":                 {schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, true},
	"v1/ConfigMap":                      {schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, true},
	"v1/Secret":                         {schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, true},
	"v1/Service":                        {schema.GroupVersionResource{Version: "v1", Resource: "services"}, true},
	"apps/v1/Deployment":                {schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, true},
	"rbac.authorization.k8s.io/v1/Role": {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}, true},
	"rbac.authorization.k8s.io/v1/RoleBinding":                       {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}, true},
	"rbac.authorization.k8s.io/v1/ClusterRole":                       {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}, false},
	"rbac.authorization.k8s.io/v1/ClusterRoleBinding":                {schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}, false},
	"autoscaling/v2/HorizontalPodAutoscaler":                         {schema.GroupVersionResource{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}, true},
	"policy/v1/PodDisruptionBudget":                                  {schema.GroupVersionResource{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}, true},
	"admissionregistration.k8s.io/v1/ValidatingWebhookConfiguration": {schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}, false},
	"admissionregistration.k8s.io/v1/MutatingWebhookConfiguration":   {schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "mutatingwebhookconfigurations"}, false},
	"apiextensions.k8s.io/v1/CustomResourceDefinition":               {schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}, false},
	// Knative's own kinds in the core manifest, defined by its CRDs.
	"networking.internal.knative.dev/v1alpha1/Certificate": {schema.GroupVersionResource{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "certificates"}, true},
	"caching.internal.knative.dev/v1alpha1/Image":          {schema.GroupVersionResource{Group: "caching.internal.knative.dev", Version: "v1alpha1", Resource: "images"}, true},
	// The networking layers' kinds, defined by the CRDs of Istio and Contour
	// (prerequisites the user installs, see ingress.go).
	"networking.istio.io/v1beta1/Gateway":           {schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1beta1", Resource: "gateways"}, true},
	"security.istio.io/v1beta1/PeerAuthentication":  {schema.GroupVersionResource{Group: "security.istio.io", Version: "v1beta1", Resource: "peerauthentications"}, true},
	"projectcontour.io/v1/TLSCertificateDelegation": {schema.GroupVersionResource{Group: "projectcontour.io", Version: "v1", Resource: "tlscertificatedelegations"}, true},
}

func kindOf(o *unstructured.Unstructured) (kind, error) {
	k, ok := builtinKinds[o.GetAPIVersion()+"/"+o.GetKind()]
	if !ok {
		return kind{}, fmt.Errorf("the release manifest has a %s %s, which this provider does not know how to apply", o.GetAPIVersion(), o.GetKind())
	}
	return k, nil
}

// objectKey names an object of the release, in messages and as the key of
// what is read back: "Deployment knative-serving/controller".
func objectKey(o *unstructured.Unstructured) string {
	return o.GetKind() + " " + cache.MetaObjectToName(o).String()
}
