package provider_test

import (
	"context"
	"fmt"
	"testing"

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

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

const appMappingAddress = "knative_domain_mapping.app"

var (
	domainMappings      = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1beta1", Resource: "domainmappings"}
	clusterDomainClaims = schema.GroupVersionResource{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "clusterdomainclaims"}
)

// withDomainMapping is the runtime, a Knative Service "hello" and a
// knative_domain_mapping "app" with body.
func withDomainMapping(c *acctest.Cluster, body string) string {
	return withService(c, `  template = { containers = [{ image = "kind.local/hello:v1" }] }`) + fmt.Sprintf(`
resource "knative_domain_mapping" "app" {
%s
}
`, body)
}

const appMappingBody = `
  name   = "app.example.com"
  ref    = { name = knative_service.hello.name }
  labels = { team = "web" }
`

func TestAccDomainMapping_claimReadyDriftImport(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	ctx := context.Background()
	config := withDomainMapping(c, appMappingBody)
	mapping := clients.Dynamic.Resource(domainMappings).Namespace("default")
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(appMappingAddress, tfjsonpath.New("id"), knownvalue.StringExact("default/app.example.com")),
					statecheck.ExpectKnownValue(appMappingAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(appMappingAddress, tfjsonpath.New("url"), knownvalue.StringExact("http://app.example.com")),
					statecheck.ExpectKnownValue(appMappingAddress, tfjsonpath.New("ref"), knownvalue.ObjectExact(map[string]knownvalue.Check{
						"name": knownvalue.StringExact("hello"), "kind": knownvalue.StringExact("Service"), "api_version": knownvalue.StringExact("serving.knative.dev/v1"),
					})),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkClaim(clients, "app.example.com", "default"),
					// Knative's own ingress for the domain points at the Service.
					func(*terraform.State) error {
						ing, err := clients.Dynamic.Resource(knativeIngresses).Namespace("default").Get(ctx, "app.example.com", metav1.GetOptions{})
						if err != nil {
							return fmt.Errorf("no KIngress for the mapping: %w", err)
						}
						rules, _, _ := unstructured.NestedSlice(ing.Object, "spec", "rules")
						if len(rules) == 0 || fmt.Sprint(rules[0].(map[string]any)["hosts"]) != "[app.example.com]" {
							return fmt.Errorf("the KIngress routes %v", rules)
						}
						return nil
					},
				),
			},
			{
				ResourceName:            appMappingAddress,
				ImportState:             true,
				ImportStateId:           "default/app.example.com",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Another writer changes the owned label and adds its own.
				PreConfig: func() {
					patch := `{"metadata":{"labels":{"team":"other","ci.example.com/run":"42"}}}`
					if _, err := mapping.Patch(ctx, "app.example.com", types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "pipeline"}); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check:              resource.TestCheckResourceAttr(appMappingAddress, "labels.team", "other"),
			},
			{
				// Apply restores the owned label; the other writer's stays.
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(appMappingAddress, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					dm, err := mapping.Get(ctx, "app.example.com", metav1.GetOptions{})
					if err != nil {
						return err
					}
					if labels := dm.GetLabels(); labels["team"] != "web" || labels["ci.example.com/run"] != "42" {
						return fmt.Errorf("labels after apply: %v", labels)
					}
					return nil
				},
			},
			{
				// The claim deleted out of band: the plan claims the domain again.
				PreConfig: func() {
					if err := clients.Dynamic.Resource(clusterDomainClaims).Delete(ctx, "app.example.com", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(appMappingAddress, plancheck.ResourceActionUpdate),
				}},
				Check: checkClaim(clients, "app.example.com", "default"),
			},
			{
				// Deleted out of band: refresh drops it, apply recreates it and its claim.
				PreConfig: func() {
					if err := mapping.Delete(ctx, "app.example.com", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
					if err := clients.Dynamic.Resource(clusterDomainClaims).Delete(ctx, "app.example.com", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(appMappingAddress, plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(appMappingAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
				},
				Check: checkClaim(clients, "app.example.com", "default"),
			},
			{
				// Removed from the configuration: the mapping and the claim it made are deleted.
				Config: withService(c, `  template = { containers = [{ image = "kind.local/hello:v1" }] }`),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkGone(clients, domainMappings, "default", "app.example.com"),
					checkGone(clients, clusterDomainClaims, "", "app.example.com"),
				),
			},
		},
	})
}

// A domain another namespace holds is refused before anything is written, and
// that claim is left alone; without a claim of its own Knative refuses the
// mapping, and the apply says why in Knative's words.
func TestAccDomainMapping_claims(t *testing.T) {
	acctest.Extended(t, "internal/serving TestClaims and internal/controller TestDomainMappingClaims; TestAccDomainMapping_claimReadyDriftImport claims end to end")
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	ctx := context.Background()
	claims := clients.Dynamic.Resource(clusterDomainClaims)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{Config: withService(c, `  template = { containers = [{ image = "kind.local/hello:v1" }] }`)},
			{
				PreConfig: func() {
					claim := &unstructured.Unstructured{Object: map[string]any{
						"apiVersion": "networking.internal.knative.dev/v1alpha1", "kind": "ClusterDomainClaim",
						"metadata": map[string]any{"name": "taken.example.com"},
						"spec":     map[string]any{"namespace": "other"},
					}}
					if _, err := claims.Create(ctx, claim, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = claims.Delete(context.Background(), "taken.example.com", metav1.DeleteOptions{}) })
				},
				Config: withDomainMapping(c, `  name = "taken.example.com"
  ref  = { name = knative_service.hello.name }`),
				ExpectError: wrapped(`Cannot claim the domain`, `the domain taken.example.com is claimed by namespace "other"`),
			},
			{
				// Nothing was written for the refused domain. Without a claim,
				// Knative fails the mapping; it is in state, so the user can fix forward.
				PreConfig: func() {
					for _, check := range []resource.TestCheckFunc{
						checkGone(clients, domainMappings, "default", "taken.example.com"),
						checkClaim(clients, "taken.example.com", "other"),
					} {
						if err := check(nil); err != nil {
							t.Fatal(err)
						}
					}
				},
				Config: withDomainMapping(c, `  name         = "unclaimed.example.com"
  ref          = { name = knative_service.hello.name }
  claim_domain = false`),
				ExpectError: wrapped(`Knative DomainMapping failed: DomainAlreadyClaimed`, `With claim_domain = false, a ClusterDomainClaim named unclaimed.example.com`),
			},
			{
				// Fixing forward: claim it.
				Config: withDomainMapping(c, `  name = "unclaimed.example.com"
  ref  = { name = knative_service.hello.name }`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(appMappingAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
				},
				Check: checkClaim(clients, "unclaimed.example.com", "default"),
			},
			{
				// An update to HTTPS with a certificate of one's own.
				Config: withDomainMapping(c, `  name = "unclaimed.example.com"
  ref  = { name = knative_service.hello.name }
  tls  = { secret_name = "unclaimed-tls" }`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(appMappingAddress, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(appMappingAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(appMappingAddress, tfjsonpath.New("url"), knownvalue.StringExact("https://unclaimed.example.com")),
				},
				Check: func(*terraform.State) error {
					ing, err := clients.Dynamic.Resource(knativeIngresses).Namespace("default").Get(ctx, "unclaimed.example.com", metav1.GetOptions{})
					if err != nil {
						return err
					}
					tls, _, _ := unstructured.NestedSlice(ing.Object, "spec", "tls")
					if len(tls) != 1 || tls[0].(map[string]any)["secretName"] != "unclaimed-tls" {
						return fmt.Errorf("the KIngress's TLS is %v", tls)
					}
					return nil
				},
			},
			{
				// The claim it made goes with the mapping; the other namespace's stays.
				Config: withService(c, `  template = { containers = [{ image = "kind.local/hello:v1" }] }`),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkGone(clients, domainMappings, "default", "unclaimed.example.com"),
					checkGone(clients, clusterDomainClaims, "", "unclaimed.example.com"),
					checkClaim(clients, "taken.example.com", "other"),
				),
			},
		},
	})
}

// badDomainMappingInputs fail at plan without the cluster.
var badDomainMappingInputs = badConfigSet{
	resource: "knative_domain_mapping",
	render:   func(body string) string { return "resource \"knative_domain_mapping\" \"app\" {\n  " + body + "\n}\n" },
	cases: []badConfig{
		{"not a domain", `name = "not_a_domain"
  ref  = { name = "hello" }`, `(?s)Invalid Knative DomainMapping.*line \d+, in resource "knative_domain_mapping" "app":\s+\d+:\s+name = "not_a_domain".*invalid\s+name\s+"not_a_domain"`},
		{"single label", `name = "localhost"
  ref  = { name = "hello" }`, `(?s)Invalid Knative DomainMapping.*invalid\s+name\s+"localhost".*at\s+least\s+two\s+segments`},
		{"cluster-local domain", `name = "hello.default.svc.cluster.local"
  ref  = { name = "hello" }`, `(?s)Invalid Knative DomainMapping.*must\s+not\s+be\s+a\s+subdomain\s+of\s+cluster\s+local\s+domain`},
		{"empty reference kind", `name = "app.example.com"
  ref  = { name = "hello", kind = "" }`, `(?s)Invalid Knative DomainMapping.*line \d+, in resource "knative_domain_mapping" "app":\s+\d+:\s+ref  = .*ref.kind:.*spec.ref.kind`},
		{"no reference", `name = "app.example.com"`, `(?s)The argument "ref" is required`},
		{"label value with a space", `name   = "app.example.com"
  ref    = { name = "hello" }
  labels = { team = "web team" }`, `(?s)Invalid Knative DomainMapping.*labels:.*a\s+valid\s+label\s+must`},
		{"namespace that is no DNS label", `name      = "app.example.com"
  namespace = "Apps"
  ref       = { name = "hello" }`, `(?s)Invalid Knative DomainMapping.*namespace:.*RFC\s+1123\s+label`},
		{"annotation key with a space", `name        = "app.example.com"
  ref         = { name = "hello" }
  annotations = { "my note" = "x" }`, `(?s)Invalid Knative DomainMapping.*annotations:.*name\s+part\s+must\s+consist`},
		{"TLS Secret that is no Secret name", `name = "app.example.com"
  ref  = { name = "hello" }
  tls  = { secret_name = "Bad_Secret" }`, `(?s)Invalid Knative DomainMapping.*tls.secret_name:.*RFC\s+1123\s+subdomain`},
	},
}

func TestDomainMapping_badInputsAtPlan(t *testing.T) { badDomainMappingInputs.runOffline(t) }

var knativeIngresses = schema.GroupVersionResource{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "ingresses"}

// checkClaim checks that a ClusterDomainClaim gives namespace the domain.
func checkClaim(c *kube.Clients, domain, namespace string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		claim, err := c.Dynamic.Resource(clusterDomainClaims).Get(context.Background(), domain, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("ClusterDomainClaim %s: %w", domain, err)
		}
		if holder, _, _ := unstructured.NestedString(claim.Object, "spec", "namespace"); holder != namespace {
			return fmt.Errorf("ClusterDomainClaim %s gives the domain to %q, want %q", domain, holder, namespace)
		}
		return nil
	}
}

// checkGone checks that an object does not exist (namespace "" for cluster-scoped ones).
func checkGone(c *kube.Clients, gvr schema.GroupVersionResource, namespace, name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		_, err := c.Dynamic.Resource(gvr).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
		switch {
		case err == nil:
			return fmt.Errorf("%s %s/%s exists", gvr.Resource, namespace, name)
		case apierrors.IsNotFound(err):
			return nil
		}
		return err
	}
}
