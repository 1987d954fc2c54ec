package serving

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"k8s.io/client-go/tools/cache"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/networking/pkg/apis/networking"

	"sigs.k8s.io/yaml"

	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

// Layer is a networking layer Knative Serving routes traffic through. Kourier
// is self-contained; Istio, Contour and the Gateway API layer program a proxy
// the user installs first (their prerequisites).
type Layer struct {
	// Class is config-network's ingress-class for the layer: KIngresses of
	// this class are the layer's controller's.
	Class string
	// Needs names what must be installed first, for messages.
	Needs string
	// CRDs the layer's controller and manifest use.
	CRDs []string
	// ConfigMap is the layer's own config map in knative-serving, which names
	// the proxy's Services (and Gateways) the layer sends traffic to.
	ConfigMap string
	// Controller is the layer's controller deployment in knative-serving.
	Controller string
	// gateways reads, from the layer's config map data (the release's
	// defaults when a key is not set), the proxy Services and the Gateway API
	// Gateways the layer expects, as namespace/name.
	gateways func(data map[string]string) (services, gateways []string, err error)
}

// Layers are the networking layers by the name knative_serving's ingress uses.
// Their defaults are those of the net-* controllers of Knative 1.20-1.23.
var Layers = map[string]Layer{
	"kourier": {Class: "kourier.ingress.networking.knative.dev", Controller: "net-kourier-controller"},
	"istio": {
		Class: "istio.ingress.networking.knative.dev", Needs: "Istio", ConfigMap: "config-istio", Controller: "net-istio-controller",
		CRDs: []string{"gateways.networking.istio.io", "virtualservices.networking.istio.io", "destinationrules.networking.istio.io",
			"peerauthentications.security.istio.io"},
		gateways: istioGateways,
	},
	"contour": {
		Class: "contour.ingress.networking.knative.dev", Needs: "Contour", ConfigMap: "config-contour", Controller: "net-contour-controller",
		CRDs:     []string{"httpproxies.projectcontour.io", "tlscertificatedelegations.projectcontour.io"},
		gateways: contourServices,
	},
	"gateway-api": {
		Class: "gateway-api.ingress.networking.knative.dev", Needs: "a Gateway API implementation", ConfigMap: "config-gateway",
		Controller: "net-gateway-api-controller",
		CRDs: []string{"gateways.gateway.networking.k8s.io", "httproutes.gateway.networking.k8s.io",
			"referencegrants.gateway.networking.k8s.io"},
		gateways: gatewayAPIGateways,
	},
}

// IngressClass is config-network's ingress-class for a layer of Layers ("" for
// External, whose class is its spec's: see Spec.IngressClass).
func IngressClass(ingress string) string { return Layers[ingress].Class }

// IngressOfClass is the layer of Layers of class, or "".
func IngressOfClass(class string) string {
	for name, l := range Layers {
		if l.Class == class {
			return name
		}
	}
	return ""
}

// istioGateways: net-istio's external-gateways and local-gateways keys (or the
// legacy gateway.NS.NAME keys) name Services as name.namespace.svc.cluster.local.
// Its local gateway Service ships with the layer, so only the external one is
// the user's; that is the default istio-system/istio-ingressgateway.
func istioGateways(data map[string]string) ([]string, []string, error) {
	var gateways []struct{ Service string }
	if raw, ok := data["external-gateways"]; ok {
		if err := yaml.Unmarshal([]byte(raw), &gateways); err != nil {
			return nil, nil, fmt.Errorf("config-istio external-gateways: %w", err)
		}
	}
	for key, value := range data {
		if strings.HasPrefix(key, "gateway.") {
			gateways = append(gateways, struct{ Service string }{value})
		}
	}
	if len(gateways) == 0 {
		return []string{"istio-system/istio-ingressgateway"}, nil, nil
	}
	var services []string
	for _, g := range gateways {
		parts := strings.Split(g.Service, ".")
		if len(parts) < 2 {
			return nil, nil, fmt.Errorf("config-istio names the gateway Service %q, which is not name.namespace.svc.cluster.local", g.Service)
		}
		services = append(services, parts[1]+"/"+parts[0])
	}
	return services, nil, nil
}

// contourServices: net-contour's visibility key maps ExternalIP and
// ClusterLocal to a Contour class and its Envoy Service (namespace/name).
func contourServices(data map[string]string) ([]string, []string, error) {
	visibility := map[string]struct{ Service string }{
		"ExternalIP": {"contour-external/envoy"}, "ClusterLocal": {"contour-internal/envoy"},
	}
	if raw, ok := data["visibility"]; ok {
		if err := yaml.Unmarshal([]byte(raw), &visibility); err != nil {
			return nil, nil, fmt.Errorf("config-contour visibility: %w", err)
		}
	}
	var services []string
	for _, v := range visibility {
		services = append(services, v.Service)
	}
	return services, nil, nil
}

// gatewayAPIGateways: net-gateway-api's external-gateways and local-gateways
// keys name a Gateway and, optionally, its proxy's Service (namespace/name).
// The defaults are Istio's Gateway API implementation.
func gatewayAPIGateways(data map[string]string) ([]string, []string, error) {
	defaults := map[string]string{
		"external-gateways": "[{gateway: istio-system/knative-gateway, service: istio-system/istio-ingressgateway}]",
		"local-gateways":    "[{gateway: istio-system/knative-local-gateway, service: istio-system/knative-local-gateway}]",
	}
	var services, gateways []string
	for _, key := range []string{"external-gateways", "local-gateways"} {
		raw, ok := data[key]
		if !ok {
			raw = defaults[key]
		}
		var entries []struct{ Gateway, Service string }
		if err := yaml.Unmarshal([]byte(raw), &entries); err != nil {
			return nil, nil, fmt.Errorf("config-gateway %s: %w", key, err)
		}
		for _, e := range entries {
			gateways = append(gateways, e.Gateway)
			if e.Service != "" {
				services = append(services, e.Service)
			}
		}
	}
	return services, gateways, nil
}

var gatewaysGVR = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}

// MissingPrerequisitesError says what a networking layer needs that the
// cluster does not have.
type MissingPrerequisitesError struct {
	Ingress string
	// Class is the external layer's ingress class, when Ingress is External.
	Class   string
	Missing []string
}

func (e *MissingPrerequisitesError) Error() string {
	if e.Ingress == External {
		return fmt.Sprintf("ingress %q routes traffic through the networking layer of class %s, which must be installed before Knative Serving uses it; the cluster lacks:\n  - %s\n"+
			"Install that layer (its proxy Services must exist), or name the Services it has, then apply again. Nothing was changed.",
			e.Ingress, e.Class, strings.Join(e.Missing, "\n  - "))
	}
	l := Layers[e.Ingress]
	return fmt.Sprintf("ingress %q routes traffic through %s, which must be installed before Knative Serving uses it; the cluster lacks:\n  - %s\n"+
		"Install %s (the gateway Services must exist), or name other gateways in %s, then apply again. Nothing was changed.",
		e.Ingress, l.Needs, strings.Join(e.Missing, "\n  - "), l.Needs, l.ConfigMap)
}

// CheckPrerequisites returns a *MissingPrerequisitesError when the CRDs,
// gateway Services or Gateways of spec's layer are not on the cluster (for
// an external layer, its proxy Services), and an error when spec is not
// valid. It writes nothing, so Apply calls it before it writes anything.
func (in *Installer) CheckPrerequisites(ctx context.Context, spec Spec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	ingress := spec.Ingress
	l := Layers[ingress]
	var missing []string
	for _, name := range l.CRDs {
		_, err := in.Clients.APIExtensions.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			missing = append(missing, "CRD "+name)
		} else if err != nil {
			return fmt.Errorf("reading CRD %s: %w", name, err)
		}
	}
	services, gateways, err := in.gatewaysOf(ctx, spec)
	if err != nil {
		return err
	}
	for _, key := range services {
		namespace, name, _ := strings.Cut(key, "/")
		_, err := in.Clients.Kubernetes.CoreV1().Services(namespace).Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err) && ingress == External:
			missing = append(missing, fmt.Sprintf("Service %s (a proxy Service of the layer)", key))
		case apierrors.IsNotFound(err):
			missing = append(missing, fmt.Sprintf("Service %s (the gateway %s names)", key, l.ConfigMap))
		case err != nil:
			return fmt.Errorf("reading Service %s: %w", key, err)
		}
	}
	for _, key := range gateways {
		namespace, name, _ := strings.Cut(key, "/")
		_, err := in.Clients.Dynamic.Resource(gatewaysGVR).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			missing = append(missing, fmt.Sprintf("Gateway %s (gateway.networking.k8s.io, named in %s)", key, l.ConfigMap))
		} else if err != nil {
			return fmt.Errorf("reading Gateway %s: %w", key, err)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	return &MissingPrerequisitesError{Ingress: ingress, Class: spec.External.Class, Missing: missing}
}

// gatewaysOf are the proxy Services and Gateways (namespace/name) spec's
// layer sends traffic to, as its config map on the cluster names them (the
// user may have renamed them) or by the layer's defaults; an external
// layer's are those the spec names.
func (in *Installer) gatewaysOf(ctx context.Context, spec Spec) (services, gateways []string, err error) {
	if spec.Ingress == External {
		return spec.External.Services, nil, nil
	}
	l := Layers[spec.Ingress]
	if l.gateways == nil {
		return nil, nil, nil
	}
	data := map[string]string{}
	cm, err := in.Clients.Kubernetes.CoreV1().ConfigMaps(Namespace).Get(ctx, l.ConfigMap, metav1.GetOptions{})
	switch {
	case err == nil:
		data = cm.Data
	case !apierrors.IsNotFound(err):
		return nil, nil, fmt.Errorf("reading ConfigMap %s/%s: %w", Namespace, l.ConfigMap, err)
	}
	return l.gateways(data)
}

// waitIngressesServed returns once every KIngress is of the class of spec's
// layer and Ready: the layer serves every route, so the previous one can go.
func (in *Installer) waitIngressesServed(ctx context.Context, spec Spec) error {
	class := spec.IngressClass()
	in.progress("waiting for %s (%s) to serve every route", spec.Ingress, class)
	return in.waitFor(ctx, kind{GVR: ingressesGVR, Namespaced: true}, "the routes to move to "+spec.Ingress+" ("+class+")",
		func(live map[string]*unstructured.Unstructured) string {
			var pending []string
			for key, ing := range live {
				switch {
				case ing.GetAnnotations()[networking.IngressClassAnnotationKey] != class:
					pending = append(pending, "KIngress "+key+" is still of class "+ing.GetAnnotations()[networking.IngressClassAnnotationKey])
				default:
					if Judge(ing, ing.GetGeneration()).State != Ready {
						pending = append(pending, "KIngress "+key+" is not Ready yet")
					}
				}
			}
			sort.Strings(pending)
			return strings.Join(pending, "; ")
		})
}

// installedClass is the ingress class config-network names, or "" when the
// runtime is not installed.
func (in *Installer) installedClass(ctx context.Context) (string, error) {
	cm, err := in.Clients.Kubernetes.CoreV1().ConfigMaps(Namespace).Get(ctx, "config-network", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading ConfigMap %s/config-network: %w", Namespace, err)
	}
	return cm.Data["ingress-class"], nil
}

// ingressOf is the ingress whose class config-network names, "" when it
// names none: a layer of Layers, External for spec's external class or, as
// only a layer the user brings has another, for a class no layer of Layers
// has.
func ingressOf(class string, spec Spec) string {
	switch {
	case class == "":
		return ""
	case spec.Ingress == External && class == spec.External.Class:
		return External
	case IngressOfClass(class) != "":
		return IngressOfClass(class)
	default:
		return External
	}
}

// otherLayers are the objects the layers other than spec's ship at spec's
// version and spec's do not.
func otherLayers(spec Spec, desired []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	var others []*unstructured.Unstructured
	for _, name := range manifests.Ingresses() {
		if name == spec.Ingress {
			continue
		}
		objs, err := manifests.LoadIngress(spec.Version, name)
		if err != nil {
			return nil, err
		}
		others = append(others, objs...)
	}
	return dropped(others, desired), nil
}

// otherLayersPresent are the objects of other layers on the cluster.
func (in *Installer) otherLayersPresent(ctx context.Context, spec Spec, desired []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	others, err := otherLayers(spec, desired)
	if err != nil {
		return nil, err
	}
	live, err := in.listLive(ctx, others)
	if err != nil {
		return nil, err
	}
	return in.leftovers(ctx, spec, others, live)
}

// leftovers are the objects of others in live, but for those being deleted
// and the Services spec's layer needs though another layer shipped them (net-
// istio's knative-local-gateway is the Gateway API layer's local gateway on
// Istio). It reads the layer's config map only when such a Service is there.
func (in *Installer) leftovers(ctx context.Context, spec Spec, others []*unstructured.Unstructured, live map[string]*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	var present []*unstructured.Unstructured
	var services []string
	servicesRead := false
	for _, o := range others {
		got := live[objectKey(o)]
		if got == nil || got.GetDeletionTimestamp() != nil {
			continue
		}
		if o.GetKind() == "Service" {
			if !servicesRead {
				var err error
				if services, _, err = in.gatewaysOf(ctx, spec); err != nil {
					return nil, err
				}
				servicesRead = true
			}
			if slices.Contains(services, cache.MetaObjectToName(o).String()) {
				continue
			}
		}
		present = append(present, o)
	}
	return present, nil
}

// retireOtherLayers deletes what other layers left on the cluster (the one
// being switched from, or one a failed switch left behind), once spec's layer
// serves every route. When switching, config-network names the new layer
// first, as soon as its deployments are available. desired are spec's objects.
func (in *Installer) retireOtherLayers(ctx context.Context, spec Spec, desired []*unstructured.Unstructured, network *unstructured.Unstructured, switching bool) error {
	left, err := in.otherLayersPresent(ctx, spec, desired)
	if err != nil {
		return err
	}
	if !switching && len(left) == 0 {
		return nil
	}
	if err := in.WaitReady(ctx, spec); err != nil {
		return err
	}
	if switching && network != nil {
		in.progress("config-network: ingress-class %s", spec.IngressClass())
		if err := in.apply(ctx, network); err != nil {
			return err
		}
	}
	if err := in.waitIngressesServed(ctx, spec); err != nil {
		return err
	}
	for _, o := range left {
		in.progress("deleting %s (another networking layer's)", objectKey(o))
		if err := in.deleteObject(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

func findObject(objs []*unstructured.Unstructured, kindName, namespace, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kindName && o.GetNamespace() == namespace && o.GetName() == name {
			return o
		}
	}
	return nil
}
