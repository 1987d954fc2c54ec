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
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
)

const previewAddress = "knative_route.preview"

var knativeRoutes = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "routes"}

// withRoute is the runtime, a Knative Service "hello" whose template names
// its revision hello-<version>, and a knative_route "preview" with body.
func withRoute(c *acctest.Cluster, version, body string) string {
	return withService(c, fmt.Sprintf(`  template = {
    name       = "hello-%[1]s"
    containers = [{ image = "kind.local/hello:%[1]s" }]
  }`, version)) + fmt.Sprintf(`
resource "knative_route" "preview" {
  name          = "preview"
  cluster_local = true
%s
}
`, body)
}

func trafficStatus(revision string, percent int64, tag string) knownvalue.Check {
	return knownvalue.ObjectPartial(map[string]knownvalue.Check{
		"revision_name": knownvalue.StringExact(revision), "percent": knownvalue.Int64Exact(percent), "tag": knownvalue.StringExact(tag),
		"url": knownvalue.StringExact("http://" + tag + "-preview.default.svc.cluster.local"),
	})
}

func TestAccRoute_splitDriftImport(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	ctx := context.Background()
	routes := clients.Dynamic.Resource(knativeRoutes).Namespace("default")
	split := withRoute(c, "v2", `  traffic = [
    { revision_name = "hello-v1", percent = 50, tag = "stable" },
    { configuration_name = knative_service.hello.name, percent = 50, tag = "candidate" },
  ]
  depends_on = [knative_service.hello]`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{
				Config: withRoute(c, "v1", `  traffic = [{ revision_name = knative_service.hello.latest_ready_revision_name, percent = 100, tag = "stable" }]`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(previewAddress, tfjsonpath.New("id"), knownvalue.StringExact("default/preview")),
					statecheck.ExpectKnownValue(previewAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(previewAddress, tfjsonpath.New("url"), knownvalue.StringExact("http://preview.default.svc.cluster.local")),
					statecheck.ExpectKnownValue(previewAddress, tfjsonpath.New("traffic_status"), knownvalue.ListExact([]knownvalue.Check{
						trafficStatus("hello-v1", 100, "stable"),
					})),
				},
			},
			{
				// A new revision: half the traffic follows the Service's latest revision.
				Config: split,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(previewAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(previewAddress, tfjsonpath.New("traffic_status"), knownvalue.ListExact([]knownvalue.Check{
						trafficStatus("hello-v1", 50, "stable"), trafficStatus("hello-v2", 50, "candidate"),
					})),
				},
			},
			{
				ResourceName:            previewAddress,
				ImportState:             true,
				ImportStateId:           "default/preview",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				// Someone sends everything to v1 by hand.
				PreConfig: func() {
					patch := `{"spec":{"traffic":[{"revisionName":"hello-v1","percent":100,"tag":"stable"}]}}`
					if _, err := routes.Patch(ctx, "preview", types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "someone"}); err != nil {
						t.Fatal(err)
					}
				},
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(previewAddress, "traffic.#", "1"),
					resource.TestCheckResourceAttr(previewAddress, "traffic.0.percent", "100"),
				),
			},
			{
				// Apply restores the split.
				Config: split,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(previewAddress, plancheck.ResourceActionUpdate),
				}},
				Check: func(*terraform.State) error {
					route, err := routes.Get(ctx, "preview", metav1.GetOptions{})
					if err != nil {
						return err
					}
					traffic, _, _ := unstructured.NestedSlice(route.Object, "spec", "traffic")
					if len(traffic) != 2 || fmt.Sprint(traffic[1].(map[string]any)["percent"]) != "50" {
						return fmt.Errorf("traffic after apply: %v", traffic)
					}
					return nil
				},
			},
			{
				// A revision that does not exist: Knative's reason, and the Route stays in state.
				Config:      withRoute(c, "v2", `  traffic = [{ revision_name = "hello-v9", percent = 100 }]`),
				ExpectError: wrapped(`Knative Route failed: RevisionMissing`, `hello-v9`),
			},
			{
				// A Knative Service's own Route is not taken over.
				Config: withService(c, `  template = { containers = [{ image = "kind.local/hello:v1" }] }`) + `
resource "knative_route" "own" {
  name       = knative_service.hello.name
  traffic    = [{ configuration_name = knative_service.hello.name, percent = 100 }]
}
`,
				ExpectError: wrapped(`Cannot create the Knative Route`, `the Route default/hello belongs to the Knative Service "hello"`),
			},
		},
	})
}

// badRouteInputs fail at plan without the cluster; a body is the traffic.
var badRouteInputs = badConfigSet{
	resource: "knative_route",
	render: func(traffic string) string {
		return "resource \"knative_route\" \"preview\" {\n  name    = \"preview\"\n  traffic = " + traffic + "\n}\n"
	},
	cases: []badConfig{
		{"revision and configuration", `[{ revision_name = "hello-v1", configuration_name = "hello", percent = 100 }]`,
			`(?s)Invalid Knative Route.*line \d+, in resource "knative_route" "preview":\s+\d+:\s+traffic = .*traffic\[0\].configuration_name:\s+expected\s+exactly\s+one,\s+got\s+both.*configurationName`},
		{"neither revision nor configuration", `[{ percent = 100 }]`, `(?s)Invalid Knative Route.*expected\s+exactly\s+one,\s+got\s+neither`},
		{"percents not summing to 100", `[{ revision_name = "hello-v1", percent = 60 }, { revision_name = "hello-v2", percent = 30 }]`,
			`(?s)Invalid Knative Route.*Traffic\s+targets\s+sum\s+to\s+90,\s+want\s+100`},
		{"duplicate tags", `[{ revision_name = "hello-v1", percent = 50, tag = "a" }, { revision_name = "hello-v2", percent = 50, tag = "a" }]`,
			`(?s)Invalid Knative Route.*Multiple\s+definitions\s+for\s+"a"`},
		{"latest revision with a revision name", `[{ revision_name = "hello-v1", latest_revision = true, percent = 100 }]`,
			`(?s)Invalid Knative Route.*may\s+not\s+set\s+revisionName\s+"hello-v1"\s+when\s+latestRevision\s+is\s+true`},
		{"no targets", `[]`, `(?s)Attribute\s+traffic\s+list\s+must\s+contain\s+at\s+least\s+1`},
		{"tag that is no DNS label", `[{ revision_name = "hello-v1", percent = 100, tag = "Preview_1" }]`, `(?s)Invalid Knative Route.*traffic:.*not\s+a\s+DNS\s+1035\s+label`},
		{"percent above 100", `[{ revision_name = "hello-v1", percent = 120 }]`, `(?s)traffic\[0\].percent.*between\s+0\s+and\s+100`},
	},
}

func TestRoute_badInputsAtPlan(t *testing.T) { badRouteInputs.runOffline(t) }
