package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/restmapper"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

// The networking layers' prerequisites, as their projects publish them (the
// module proxy serves these modules, CRD YAML included).
var layerCRDs = map[string]struct{ module, dir string }{
	"istio":       {"istio.io/api@v1.28.0", "kubernetes"},
	"contour":     {"github.com/projectcontour/contour@v1.33.0", "examples/contour"},
	"gateway-api": {"sigs.k8s.io/gateway-api@v1.6.3", "config/crd/standard"},
}

var crdFiles = map[string][]string{
	"istio":       {"customresourcedefinitions.gen.yaml"},
	"contour":     {"01-crds.yaml"},
	"gateway-api": {"gateway.networking.k8s.io_gatewayclasses.yaml", "gateway.networking.k8s.io_gateways.yaml", "gateway.networking.k8s.io_httproutes.yaml", "gateway.networking.k8s.io_referencegrants.yaml"},
}

// TestAccServing_ingressLayers installs the runtime with Kourier and switches
// it in place to the Gateway API layer, Contour and Istio while a Knative
// Service runs: each switch names the new layer in config-network, moves the
// Service's KIngress to it (Ready), and removes the old layer. First, without
// the prerequisites, the apply names every missing CRD and Service and
// writes nothing. The sandbox's supervisor stands in for each layer's
// controller, so this runs on the sandbox only.
func TestAccServing_ingressLayers(t *testing.T) {
	c := acctest.PreCheck(t)
	if !acctest.OnSandbox() {
		t.Skip("the networking layers need Istio, Contour or a Gateway API implementation running, for which the sandbox's supervisor stands in: this test runs when make test targets the sandbox")
	}
	clients := c.Clients(t)
	ctx := context.Background()
	config := func(ingress string) string {
		return c.ProviderBlock() + fmt.Sprintf(`
resource "knative_serving" "this" {
  version = %q
  ingress = %q
}

resource "knative_service" "hello" {
  name       = "hello"
  depends_on = [knative_serving.this]
  template = {
    containers = [{ image = "kind.local/hello:latest" }]
  }
}
`, acctest.ServingVersion(), ingress)
	}
	switchTo := func(ingress, from string) resource.TestStep {
		return resource.TestStep{
			Config: config(ingress),
			ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
				plancheck.ExpectResourceAction(servingAddress, plancheck.ResourceActionUpdate), // in place
				plancheck.ExpectResourceAction("knative_service.hello", plancheck.ResourceActionNoop),
			}},
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue(servingAddress, tfjsonpath.New("ingress_class"), knownvalue.StringExact(serving.IngressClass(ingress))),
				statecheck.ExpectKnownValue(servingAddress, tfjsonpath.New("drift"), knownvalue.ListSizeExact(0)),
			},
			Check: resource.ComposeAggregateTestCheckFunc(
				checkIngressClass(clients, serving.IngressClass(ingress)),
				checkServedBy(clients, "default", "hello", ingress),
				checkLayerRemoved(clients, acctest.ServingVersion(), from, ingress),
			),
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy: resource.ComposeAggregateTestCheckFunc(
			checkRuntimeRemoved(clients),
			checkLayerRemoved(clients, acctest.ServingVersion(), "istio", ""),
		),
		Steps: []resource.TestStep{
			{
				Config: config("istio"),
				ExpectError: wrapped(`ingress "istio" routes traffic through Istio`, "the cluster lacks",
					"CRD destinationrules.networking.istio.io", "CRD gateways.networking.istio.io",
					"CRD peerauthentications.security.istio.io", "CRD virtualservices.networking.istio.io",
					"Service istio-system/istio-ingressgateway (the gateway config-istio names)", "Nothing was changed"),
			},
			{
				PreConfig: func() {
					if _, err := clients.Kubernetes.CoreV1().Namespaces().Get(ctx, serving.Namespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
						t.Fatalf("the refused apply wrote the runtime's namespace (err %v)", err)
					}
					installLayerPrerequisites(t, clients)
				},
				Config: config("kourier"),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkIngressClass(clients, serving.IngressClass("kourier")),
					checkServedBy(clients, "default", "hello", "kourier"),
				),
			},
			switchTo("gateway-api", "kourier"),
			switchTo("contour", "gateway-api"),
			switchTo("istio", "contour"),
			{
				ResourceName:            servingAddress,
				ImportState:             true,
				ImportStateId:           serving.Namespace,
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
		},
	})
}

// checkServedBy: the Service's KIngress is of the layer's class and Ready
// with the layer's gateway address.
func checkServedBy(c *kube.Clients, namespace, name, ingress string) resource.TestCheckFunc {
	kingresses := schema.GroupVersionResource{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "ingresses"}
	return func(*terraform.State) error {
		ing, err := c.Dynamic.Resource(kingresses).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := ing.GetAnnotations()["networking.knative.dev/ingress.class"]; got != serving.IngressClass(ingress) {
			return fmt.Errorf("KIngress %s/%s is of class %q, want %q", namespace, name, got, serving.IngressClass(ingress))
		}
		if verdict := serving.Judge(ing, ing.GetGeneration()); verdict.State != serving.Ready {
			return fmt.Errorf("KIngress %s/%s is not Ready: %s", namespace, name, verdict.Waiting)
		}
		return nil
	}
}

// checkLayerRemoved: none of the old layer's objects is left (a namespace
// the layer owned may still be terminating), and the new one's controller runs.
func checkLayerRemoved(c *kube.Clients, version, old, current string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		objs, err := manifests.LoadIngress(version, old)
		if err != nil {
			return err
		}
		groups, err := restmapper.GetAPIGroupResources(c.Kubernetes.Discovery())
		if err != nil {
			return err
		}
		mapper := restmapper.NewDiscoveryRESTMapper(groups)
		for _, o := range objs {
			mapping, err := mapper.RESTMapping(o.GroupVersionKind().GroupKind(), o.GroupVersionKind().Version)
			if err != nil {
				continue // the kind is not served any more: its objects are gone
			}
			got, err := c.Dynamic.Resource(mapping.Resource).Namespace(o.GetNamespace()).Get(ctx, o.GetName(), metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return err
			case o.GetKind() == "Namespace" && got.GetDeletionTimestamp() != nil:
			default:
				return fmt.Errorf("%s %s/%s of the %s layer is still there", o.GetKind(), o.GetNamespace(), o.GetName(), old)
			}
		}
		if current == "" {
			return nil
		}
		_, err = c.Kubernetes.AppsV1().Deployments(serving.Namespace).Get(ctx, serving.Layers[current].Controller, metav1.GetOptions{})
		return err
	}
}

// installLayerPrerequisites installs what the layers need that the user
// installs on a real cluster: the CRDs of Istio, Contour and the Gateway API,
// the gateway Services the layers' defaults name, and the Gateways the
// Gateway API layer's defaults name. They are removed when the test ends.
func installLayerPrerequisites(t *testing.T, c *kube.Clients) {
	t.Helper()
	ctx := context.Background()
	var crds []*unstructured.Unstructured
	for layer, src := range layerCRDs {
		dir := moduleDir(t, src.module)
		for _, file := range crdFiles[layer] {
			data, err := os.ReadFile(filepath.Join(dir, src.dir, file))
			if err != nil {
				t.Fatal(err)
			}
			objs, err := manifests.Parse(data)
			if err != nil {
				t.Fatalf("%s %s: %v", src.module, file, err)
			}
			for _, o := range objs {
				if o.GetKind() == "CustomResourceDefinition" {
					crds = append(crds, o)
				}
			}
		}
	}
	applyTestObjects(t, c, crds)
	err := wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, o := range crds {
			crd, err := c.APIExtensions.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			established := false
			for _, cond := range crd.Status.Conditions {
				established = established || (cond.Type == "Established" && cond.Status == "True")
			}
			if !established {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("the prerequisite CRDs were not established: %v", err)
	}
	var objs []*unstructured.Unstructured
	for _, raw := range []string{
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"istio-system"}}`,
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"contour-external"}}`,
		`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"contour-internal"}}`,
		gatewayService("istio-system", "istio-ingressgateway"),
		gatewayService("istio-system", "knative-local-gateway"),
		gatewayService("contour-external", "envoy"),
		gatewayService("contour-internal", "envoy"),
		gateway("istio-system", "knative-gateway"),
		gateway("istio-system", "knative-local-gateway"),
	} {
		o := &unstructured.Unstructured{}
		if err := json.Unmarshal([]byte(raw), &o.Object); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, o)
	}
	applyTestObjects(t, c, objs)
}

func gatewayService(namespace, name string) string {
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Service","metadata":{"name":%q,"namespace":%q},
		"spec":{"selector":{"app":%q},"ports":[{"name":"http2","port":80,"targetPort":8080}]}}`, name, namespace, name)
}

func gateway(namespace, name string) string {
	return fmt.Sprintf(`{"apiVersion":"gateway.networking.k8s.io/v1","kind":"Gateway","metadata":{"name":%q,"namespace":%q},
		"spec":{"gatewayClassName":"istio","listeners":[{"name":"http","port":80,"protocol":"HTTP","allowedRoutes":{"namespaces":{"from":"All"}}}]}}`, name, namespace)
}

// moduleDir downloads a module through the Go module proxy (once; it stays
// in the module cache) and returns its directory.
func moduleDir(t *testing.T, module string) string {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go mod download %s: %v\n%s", module, err, out)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("go mod download %s: %v %s", module, err, mod.Error)
	}
	return mod.Dir
}
