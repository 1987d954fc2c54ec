package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

const servingAddress = "knative_serving.this"

// ownsRuntimeSettings: a test body that sets the registry or the layer itself.
var ownsRuntimeSettings = regexp.MustCompile(`(?m)^\s*(registry|ingress|external_ingress)\s*=`)

// servingConfig is the runtime at the tests' version (acctest.ServingVersion)
// unless body names one, with the test target's mirror and networking layer
// (acctest.ServingAttributes) unless body names its own.
func servingConfig(c *acctest.Cluster, body string) string {
	if !strings.Contains(body, "version") {
		body = fmt.Sprintf("  version = %q\n%s", acctest.ServingVersion(), body)
	}
	if !ownsRuntimeSettings.MatchString(body) {
		body += "\n" + acctest.ServingAttributes()
	}
	return c.ProviderBlock() + fmt.Sprintf("resource \"knative_serving\" \"this\" {\n%s\n}\n", body)
}

// runtimeComponents is how many deployments the tests' runtime has: Knative
// Serving's four, and Kourier's controller and gateway unless the target
// brings its own layer.
func runtimeComponents() int {
	if acctest.Ingress() == "kourier" {
		return 6
	}
	return 4
}

func TestAccServing_installRepairImport(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	ctx := context.Background()
	config := servingConfig(c, "")
	withDataSource := config + `
data "knative_serving" "installed" {
  depends_on = [knative_serving.this]
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{
				// The harness fails the step if the plan after apply is not empty.
				Config: withDataSource,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(servingAddress, tfjsonpath.New("installed_version"), knownvalue.StringExact(acctest.ServingVersion())),
					statecheck.ExpectKnownValue(servingAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(servingAddress, tfjsonpath.New("ingress_class"), knownvalue.StringExact(acctest.IngressClass())),
					statecheck.ExpectKnownValue(servingAddress, tfjsonpath.New("drift"), knownvalue.ListSizeExact(0)),
					statecheck.ExpectKnownValue("data.knative_serving.installed", tfjsonpath.New("installed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.knative_serving.installed", tfjsonpath.New("version"), knownvalue.StringExact(acctest.ServingVersion())),
					statecheck.ExpectKnownValue("data.knative_serving.installed", tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.knative_serving.installed", tfjsonpath.New("ingress"), knownvalue.StringExact(acctest.Ingress())),
					statecheck.ExpectKnownValue("data.knative_serving.installed", tfjsonpath.New("components"), knownvalue.ListSizeExact(runtimeComponents())),
					statecheck.ExpectKnownValue(servingAddress, tfjsonpath.New("components"), knownvalue.ListPartial(map[int]knownvalue.Check{
						0: knownvalue.ObjectExact(map[string]knownvalue.Check{
							"name": knownvalue.StringExact("activator"), "namespace": knownvalue.StringExact("knative-serving"),
							"ready": knownvalue.Bool(true), "message": knownvalue.StringExact(""),
						}),
					})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkIngressClass(clients, acctest.IngressClass()),
					checkWebhookAdmits(clients),
				),
			},
			{
				// Out-of-band deletions: refresh names them, the plan repairs them.
				PreConfig: func() {
					mustDelete(t, clients.Kubernetes.AppsV1().Deployments("knative-serving").Delete(ctx, "controller", metav1.DeleteOptions{}))
					mustDelete(t, clients.Kubernetes.RbacV1().ClusterRoles().Delete(ctx, "knative-serving-namespaced-view", metav1.DeleteOptions{}))
				},
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckTypeSetElemAttr(servingAddress, "drift.*", "Deployment knative-serving/controller is missing"),
					resource.TestCheckTypeSetElemAttr(servingAddress, "drift.*", "ClusterRole knative-serving-namespaced-view is missing"),
				),
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(servingAddress, plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue(servingAddress, tfjsonpath.New("drift"), knownvalue.ListSizeExact(0)),
				}},
				Check: func(*terraform.State) error {
					if _, err := clients.Kubernetes.AppsV1().Deployments("knative-serving").Get(ctx, "controller", metav1.GetOptions{}); err != nil {
						return fmt.Errorf("the controller deployment was not repaired: %w", err)
					}
					_, err := clients.Kubernetes.RbacV1().ClusterRoles().Get(ctx, "knative-serving-namespaced-view", metav1.GetOptions{})
					return err
				},
			},
			{
				// A changed image is drift too, named at the container.
				PreConfig: func() {
					patch := `{"spec":{"template":{"spec":{"containers":[{"name":"webhook","image":"example.com/not-knative:1"}]}}}}`
					_, err := clients.Kubernetes.AppsV1().Deployments("knative-serving").Patch(ctx, "webhook", "application/strategic-merge-patch+json", []byte(patch), metav1.PatchOptions{})
					if err != nil {
						t.Fatal(err)
					}
				},
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check: resource.TestMatchResourceAttr(servingAddress, "drift.0",
					regexp.MustCompile(`^Deployment knative-serving/webhook: spec.template.spec.containers\[name=webhook\].image is "example.com/not-knative:1", want "`+
						regexp.QuoteMeta(releaseImagePrefix()))),
			},
			{Config: config},
			{
				ResourceName:      servingAddress,
				ImportState:       true,
				ImportStateId:     "knative-serving",
				ImportStateVerify: true,
				// Readiness may be re-evaluated in between; the rest must match,
				// but for what an import cannot read back: the mirror the
				// images came from (refresh then names them as drift) and the
				// external layer's Services.
				ImportStateVerifyIgnore: importIgnores(),
			},
		},
	})
}

// releaseImagePrefix begins the images of the tests' runtime: Knative's
// release's, or the test target's mirror's.
func releaseImagePrefix() string {
	if registry := acctest.Registry(); registry != "" {
		return strings.Split(registry, "${NAME}")[0]
	}
	return "gcr.io/knative-releases/"
}

// importIgnores are the attributes an import of the tests' runtime cannot
// read back from the cluster.
func importIgnores() []string {
	ignore := []string{"timeouts"}
	if acctest.Registry() != "" {
		ignore = append(ignore, "registry", "drift")
	}
	if acctest.Ingress() == "external" {
		ignore = append(ignore, "external_ingress.services")
	}
	return ignore
}

func TestAccServing_upgradeOneMinorAtATime(t *testing.T) {
	c := acctest.PreCheck(t)
	if acctest.Registry() != "" {
		t.Skip("installs three Knative versions: the test target's mirror (KNATIVE_TEST_REGISTRY) holds one")
	}
	clients := c.Clients(t)
	version := func(v string) string { return servingConfig(c, fmt.Sprintf("  version = %q", v)) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{Config: version("1.21.3"), Check: checkCRDVersion(clients, "1.21.3")},
			{Config: version("1.23.0"), ExpectError: wrapped(`Unsupported version change`, `one minor version at a time: from 1.21.3 the next step is 1.22.x, not 1.23.0. Apply version = "1.22.1" first.`)},
			{
				Config: version("1.22.1"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(servingAddress, plancheck.ResourceActionUpdate),
				}},
				Check: checkCRDVersion(clients, "1.22.1"),
			},
			{
				Config: version("1.23.0"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(servingAddress, tfjsonpath.New("installed_version"), knownvalue.StringExact("1.23.0")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(checkCRDVersion(clients, "1.23.0"), checkSingleStoredVersions(clients)),
			},
			{Config: version("1.22.1"), ExpectError: wrapped(`Unsupported version change`, `Knative Serving 1.23.0 is installed; downgrading to 1.22.1 is not supported`)},
		},
	})
}

func TestAccServing_destroyWithKnativeObjects(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{Config: servingConfig(c, "")},
			{
				PreConfig:   func() { createKnativeService(t, clients, "default", "keep-me") },
				Config:      servingConfig(c, ""),
				Destroy:     true,
				ExpectError: regexp.MustCompile(`(?s)Knative objects still exist.*Service default/keep-me.*delete_knative_objects = true`),
			},
			{
				// Refused destroy removed nothing: the runtime still serves.
				Config: servingConfig(c, ""),
				Check:  checkWebhookAdmits(clients),
			},
			{
				// Opting in: the final destroy deletes the Service, then the runtime.
				Config: servingConfig(c, "  delete_knative_objects = true"),
			},
		},
	})
}

func TestAccServing_highAvailabilityMirroredNoWait(t *testing.T) {
	acctest.Extended(t, "internal/serving TestDesiredHighAvailability, TestDesiredRegistryOverride and TestWaitReadySaysWhatIsPending (an apply without waiting), on fakes")
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	ctx := context.Background()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{{
			Config: servingConfig(c, `
  wait_for_ready    = false
  high_availability = { replicas = 2 }
  registry = {
    default  = "registry.example.com/knative/$${NAME}:v1.23.0"
    override = { "queue-proxy" = "registry.example.com/qp@sha256:0000000000000000000000000000000000000000000000000000000000000000" }
  }`),
			Check: func(*terraform.State) error {
				d, err := clients.Kubernetes.AppsV1().Deployments("knative-serving").Get(ctx, "controller", metav1.GetOptions{})
				if err != nil {
					return err
				}
				if *d.Spec.Replicas != 2 || d.Spec.Template.Spec.Containers[0].Image != "registry.example.com/knative/controller:v1.23.0" {
					return fmt.Errorf("controller has %d replicas and image %s", *d.Spec.Replicas, d.Spec.Template.Spec.Containers[0].Image)
				}
				cm, err := clients.Kubernetes.CoreV1().ConfigMaps("knative-serving").Get(ctx, "config-deployment", metav1.GetOptions{})
				if err != nil {
					return err
				}
				if got := cm.Data["queue-sidecar-image"]; !strings.HasPrefix(got, "registry.example.com/qp@") {
					return fmt.Errorf("queue-sidecar-image is %q", got)
				}
				return nil
			},
		}},
	})
}

// An install interrupted midway (as when the provider is killed) leaves
// objects without state; the next apply adopts them and converges.
func TestAccServing_interruptedInstallConverges(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
					defer cancel()
					fm := &kube.Clients{REST: clients.REST, Kubernetes: clients.Kubernetes, Dynamic: clients.Dynamic, APIExtensions: clients.APIExtensions, FieldManager: "terraform-provider-knative"}
					err := (&serving.Installer{Clients: fm}).Apply(ctx, serving.Spec{Version: acctest.ServingVersion(), Ingress: "kourier"}, nil, true)
					if err == nil {
						t.Fatal("the install was meant to be interrupted but finished")
					}
				},
				Config: servingConfig(c, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(servingAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
				},
			},
			{
				// The webhook's Service gone (as when an interrupted install had
				// written the webhook's configurations but not it): the API
				// server refuses what the webhook admits until the apply has
				// written the Service again.
				PreConfig: func() {
					mustDelete(t, clients.Kubernetes.CoreV1().Services("knative-serving").Delete(context.Background(), "webhook", metav1.DeleteOptions{}))
					configMaps := clients.Kubernetes.CoreV1().ConfigMaps("knative-serving")
					gc, err := configMaps.Get(context.Background(), "config-gc", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					_, err = configMaps.Update(context.Background(), gc, metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}})
					if err == nil || !strings.Contains(err.Error(), "failed calling webhook") {
						t.Fatalf("with the webhook's Service gone a config map was admitted (%v): the step proves nothing", err)
					}
				},
				Config: servingConfig(c, ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(servingAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
				},
			},
			{
				// A create that fails (here: its timeout) keeps the resource in
				// state, tainted; the next apply replaces it and converges.
				Config:      servingConfig(c, "  timeouts {\n    create = \"1ms\"\n  }"),
				Taint:       []string{servingAddress},
				ExpectError: regexp.MustCompile(`Installing Knative Serving failed`),
			},
			{Config: servingConfig(c, "")},
		},
	})
}

// badServingArguments fail at plan without the cluster.
var badServingArguments = badConfigSet{
	resource: "knative_serving",
	render:   func(body string) string { return "resource \"knative_serving\" \"this\" {\n  " + body + "\n}\n" },
	cases: []badConfig{
		{"unknown version", `version = "1.19.0"`, `(?s)version.*value must be one of:.*"1.23.0"`},
		{"unsupported ingress", `ingress = "nginx"`, `(?s)ingress.*value must be one of: \["kourier"\s+"istio"\s+"contour"\s+"gateway-api"\s+"external"\], got: "nginx"`},
		{"external ingress without external_ingress", `ingress = "external"`,
			wrapped("Missing external_ingress", `ingress = "external" routes traffic through a networking layer you install: external_ingress is required with it`).String()},
		{"external_ingress with the default ingress", `external_ingress = { class = "traefik.ingress.networking.knative.dev" }`,
			wrapped(`external_ingress without ingress = "external"`, `external_ingress = {`, `only valid with ingress = "external"; ingress is "kourier" (the default)`).String()},
		{"external_ingress with another layer", "ingress          = \"istio\"\n  external_ingress = { class = \"traefik.ingress.networking.knative.dev\" }",
			wrapped(`external_ingress without ingress = "external"`, `ingress is "istio"`).String()},
		{"external class that is no DNS subdomain", "ingress          = \"external\"\n  external_ingress = { class = \"Traefik\" }",
			wrapped("Invalid ingress class", `Attribute external_ingress.class: ingress class "Traefik" is not a DNS subdomain`).String()},
		{"external class of a layer the provider installs", "ingress          = \"external\"\n  external_ingress = { class = \"kourier.ingress.networking.knative.dev\" }",
			wrapped("Invalid ingress class", `Attribute external_ingress.class: ingress class "kourier.ingress.networking.knative.dev" is the class of the kourier layer this provider installs; use ingress "kourier"`).String()},
		{"external service without namespace", "ingress          = \"external\"\n  external_ingress = {\n    class    = \"traefik.ingress.networking.knative.dev\"\n    services = [\"traefik\"]\n  }",
			wrapped("Invalid Service name", `Attribute external_ingress.services[0]: "traefik" does not name a Service as namespace/name`).String()},
		{"external without class", "ingress          = \"external\"\n  external_ingress = { services = [\"traefik/traefik\"] }",
			wrapped(`Inappropriate value for attribute "external_ingress": attribute "class" is required`).String()},
		{"registry template without NAME", `registry = { default = "registry.example.com/knative:1" }`, `(?s)registry.default.*must be an image reference that contains \$\{NAME\}`},
		{"zero replicas", `high_availability = { replicas = 0 }`, `(?s)high_availability.replicas.*between 1 and 10`},
		{"version that is no version", `version = "latest"`, `(?s)version.*value must be one of`},
		{"replicas above 10", `high_availability = { replicas = 11 }`, `(?s)high_availability.replicas.*between 1 and 10`},
	},
}

func TestServing_badArguments(t *testing.T) { badServingArguments.runOffline(t) }

// wrapped matches the phrases in order, whatever line wrapping Terraform applies.
func wrapped(phrases ...string) *regexp.Regexp {
	parts := make([]string, len(phrases))
	for i, p := range phrases {
		parts[i] = strings.Join(strings.Fields(regexp.QuoteMeta(p)), `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(parts, ".*"))
}

func mustDelete(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func checkIngressClass(c *kube.Clients, want string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		cm, err := c.Kubernetes.CoreV1().ConfigMaps("knative-serving").Get(context.Background(), "config-network", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := cm.Data["ingress-class"]; got != want {
			return fmt.Errorf("config-network ingress-class is %q, want %q", got, want)
		}
		return nil
	}
}

// checkWebhookAdmits proves admission goes through Knative's webhook: it
// rejects an invalid Knative Service (the API schema alone would accept it).
func checkWebhookAdmits(c *kube.Clients) resource.TestCheckFunc {
	return func(*terraform.State) error {
		svc := knativeService("default", "webhook-probe")
		_ = unstructured.SetNestedField(svc.Object, int64(-5), "spec", "template", "spec", "containerConcurrency")
		_, err := c.Dynamic.Resource(knativeServices).Namespace("default").Create(context.Background(), svc, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err == nil || !strings.Contains(err.Error(), "admission webhook") {
			return fmt.Errorf("want a rejection by Knative's admission webhook, got %w", err)
		}
		return nil
	}
}

func checkCRDVersion(c *kube.Clients, want string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		crd, err := c.APIExtensions.ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), "services.serving.knative.dev", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := crd.Labels["app.kubernetes.io/version"]; got != want {
			return fmt.Errorf("Service CRD is at version %q, want %q", got, want)
		}
		return nil
	}
}

// checkSingleStoredVersions: after an upgrade every Knative CRD stores one version.
func checkSingleStoredVersions(c *kube.Clients) resource.TestCheckFunc {
	return func(*terraform.State) error {
		crds, err := c.APIExtensions.ApiextensionsV1().CustomResourceDefinitions().List(context.Background(), metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=knative-serving"})
		if err != nil {
			return err
		}
		for _, crd := range crds.Items {
			if len(crd.Status.StoredVersions) != 1 {
				return fmt.Errorf("CRD %s stores versions %v after the upgrade", crd.Name, crd.Status.StoredVersions)
			}
		}
		return nil
	}
}

func checkRuntimeRemoved(c *kube.Clients) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		if _, err := c.Kubernetes.CoreV1().Namespaces().Get(ctx, "knative-serving", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace knative-serving still exists after destroy (err %w)", err)
		}
		crds, err := c.APIExtensions.ApiextensionsV1().CustomResourceDefinitions().List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=knative-serving"})
		if err != nil {
			return err
		}
		if len(crds.Items) > 0 {
			return fmt.Errorf("%d Knative CRDs remain after destroy, such as %s", len(crds.Items), crds.Items[0].Name)
		}
		return nil
	}
}

var knativeServices = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "services"}

func knativeService(namespace, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1",
		"kind":       "Service",
		"metadata":   map[string]any{"name": name, "namespace": namespace},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			// kind.local images are not resolved against a registry (offline sandbox).
			"containers": []any{map[string]any{"image": "kind.local/hello:latest"}},
		}}},
	}}
}

func createKnativeService(t *testing.T, c *kube.Clients, namespace, name string) {
	t.Helper()
	_, err := c.Dynamic.Resource(knativeServices).Namespace(namespace).Create(context.Background(), knativeService(namespace, name), metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating Knative Service %s/%s: %v", namespace, name, err)
	}
}

// An install while an earlier removal is still deleting a CRD (held here by
// a finalizer on one of its objects) waits for it to be gone instead of
// applying to the terminating CRD, which would vanish right after.
func TestAccServing_installWaitsForAnEarlierRemoval(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	ctx := context.Background()
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	routes := schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "routes"}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{{
			PreConfig: func() {
				objs, err := serving.Desired(serving.Spec{Version: acctest.ServingVersion(), Ingress: "kourier"})
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range objs {
					if o.GetKind() == "CustomResourceDefinition" && o.GetName() == "routes.serving.knative.dev" {
						if _, err := clients.Dynamic.Resource(crds).Create(ctx, o, metav1.CreateOptions{}); err != nil {
							t.Fatal(err)
						}
					}
				}
				held := &unstructured.Unstructured{Object: map[string]any{
					"apiVersion": "serving.knative.dev/v1", "kind": "Route",
					"metadata": map[string]any{"name": "held", "namespace": "default", "finalizers": []any{"example.com/hold"}},
				}}
				if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
					_, err := clients.Dynamic.Resource(routes).Namespace("default").Create(ctx, held, metav1.CreateOptions{})
					return err == nil, nil // until the new CRD is served
				}); err != nil {
					t.Fatal("creating a Route never succeeded")
				}
				mustDelete(t, clients.Dynamic.Resource(crds).Delete(ctx, "routes.serving.knative.dev", metav1.DeleteOptions{}))
				go func() {
					// The install starts meanwhile and finds the CRD terminating.
					time.Sleep(8 * time.Second)
					_, _ = clients.Dynamic.Resource(routes).Namespace("default").Patch(ctx, "held", types.MergePatchType,
						[]byte(`{"metadata":{"finalizers":null}}`), metav1.PatchOptions{})
				}()
			},
			Config: servingConfig(c, ""),
			Check: func(*terraform.State) error {
				crd, err := clients.Dynamic.Resource(crds).Get(ctx, "routes.serving.knative.dev", metav1.GetOptions{})
				if err != nil {
					return err
				}
				if crd.GetDeletionTimestamp() != nil {
					return fmt.Errorf("the install applied the terminating CRD")
				}
				_, err = clients.Dynamic.Resource(routes).Namespace("default").List(ctx, metav1.ListOptions{})
				return err
			},
		}},
	})
}
