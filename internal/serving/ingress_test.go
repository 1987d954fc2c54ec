package serving

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

// Every layer at every version: the provider knows how to apply its kinds,
// config-network names its class, its controller is the one Layers names,
// and none of its objects is another layer's.
func TestDesiredEveryLayer(t *testing.T) {
	for _, version := range manifests.Versions() {
		for _, ingress := range manifests.Ingresses() {
			objs, err := Desired(Spec{Version: version, Ingress: ingress})
			if err != nil {
				t.Fatalf("%s %s: %v", version, ingress, err)
			}
			network := findObject(objs, "ConfigMap", Namespace, "config-network")
			if got, _, _ := unstructured.NestedString(network.Object, "data", "ingress-class"); got != IngressClass(ingress) {
				t.Errorf("%s %s: config-network ingress-class %q, want %q", version, ingress, got, IngressClass(ingress))
			}
			if findObject(objs, "Deployment", Namespace, Layers[ingress].Controller) == nil {
				t.Errorf("%s %s: no controller deployment %s", version, ingress, Layers[ingress].Controller)
			}
			others, err := otherLayers(Spec{Version: version, Ingress: ingress}, objs)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range others {
				if findObject(objs, o.GetKind(), o.GetNamespace(), o.GetName()) != nil {
					t.Errorf("%s %s: %s is in desired and among the other layers' objects", version, ingress, objectKey(o))
				}
			}
			if len(others) == 0 {
				t.Errorf("%s %s: no other layers' objects", version, ingress)
			}
		}
	}
	if IngressOfClass("istio.ingress.networking.knative.dev") != "istio" || IngressOfClass("nginx.example.com") != "" {
		t.Error("IngressOfClass does not invert IngressClass")
	}
}

func TestLayerGateways(t *testing.T) {
	for _, tc := range []struct {
		ingress            string
		data               map[string]string
		services, gateways []string
		err                bool
	}{
		{ingress: "istio", services: []string{"istio-system/istio-ingressgateway"}},
		{ingress: "istio", data: map[string]string{"external-gateways": "- name: edge\n  namespace: knative-serving\n  service: edge-gw.mesh.svc.cluster.local\n"},
			services: []string{"mesh/edge-gw"}},
		{ingress: "istio", data: map[string]string{"gateway.knative-serving.knative-ingress-gateway": "custom.gw-system.svc.cluster.local"},
			services: []string{"gw-system/custom"}},
		{ingress: "istio", data: map[string]string{"external-gateways": "- service: nodots\n"}, err: true},
		{ingress: "contour", services: []string{"contour-external/envoy", "contour-internal/envoy"}},
		{ingress: "contour", data: map[string]string{"visibility": "ExternalIP:\n  class: public\n  service: edge/envoy\nClusterLocal:\n  class: private\n  service: edge/envoy-internal\n"},
			services: []string{"edge/envoy", "edge/envoy-internal"}},
		{ingress: "contour", data: map[string]string{"visibility": "[not, a, map]"}, err: true},
		{ingress: "gateway-api", services: []string{"istio-system/istio-ingressgateway", "istio-system/knative-local-gateway"},
			gateways: []string{"istio-system/knative-gateway", "istio-system/knative-local-gateway"}},
		{ingress: "gateway-api", data: map[string]string{"external-gateways": "- class: eg\n  gateway: eg/public\n", "local-gateways": "[]"},
			gateways: []string{"eg/public"}},
	} {
		services, gateways, err := Layers[tc.ingress].gateways(tc.data)
		if (err != nil) != tc.err {
			t.Errorf("%s %v: err %v, want error %v", tc.ingress, tc.data, err, tc.err)
			continue
		}
		sort.Strings(services)
		if !tc.err && (!reflect.DeepEqual(services, tc.services) || !reflect.DeepEqual(gateways, tc.gateways)) {
			t.Errorf("%s %v: services %v gateways %v, want %v %v", tc.ingress, tc.data, services, gateways, tc.services, tc.gateways)
		}
	}
}

func TestMissingPrerequisitesMessage(t *testing.T) {
	err := &MissingPrerequisitesError{Ingress: "contour", Missing: []string{"CRD httpproxies.projectcontour.io", "Service contour-external/envoy (the gateway config-contour names)"}}
	want := "ingress \"contour\" routes traffic through Contour, which must be installed before Knative Serving uses it; the cluster lacks:\n" +
		"  - CRD httpproxies.projectcontour.io\n  - Service contour-external/envoy (the gateway config-contour names)\n" +
		"Install Contour (the gateway Services must exist), or name other gateways in config-contour, then apply again. Nothing was changed."
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
}

// knative_serving_config manages the layers' config maps too; the keys that
// name gateways are read as the layer reads them.
func TestLayerConfigMaps(t *testing.T) {
	for _, name := range []string{"kourier", "istio", "contour", "gateway"} {
		if !slices.Contains(ConfigNames(), name) {
			t.Errorf("config-%s is not among ConfigNames", name)
		}
	}
	if err := ValidateConfig("contour", map[string]string{"visibility": "ExternalIP: [a"}); err == nil || !strings.Contains(err.Error(), "config-contour visibility") {
		t.Errorf("a malformed visibility must be refused, got %v", err)
	}
	if err := ValidateConfig("gateway", map[string]string{"external-gateways": "- class: eg\n  gateway: eg/public\n"}); err != nil {
		t.Errorf("a valid external-gateways refused: %v", err)
	}
	if got := UnknownConfigKeys("contour", map[string]string{"timeout-policy-idle": "60s", "timeout-policy-idel": "60s"}); !slices.Equal(got, []string{"timeout-policy-idel"}) {
		t.Errorf("unknown keys of config-contour: %v, want the misspelt one", got)
	}
}
