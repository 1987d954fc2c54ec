package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

const helloAddress = "knative_service.hello"

// withService is the runtime plus one knative_service "hello" with body.
func withService(c *acctest.Cluster, body string) string {
	return configRuntime(c, fmt.Sprintf(`
resource "knative_service" "hello" {
  name       = "hello"
  depends_on = [knative_serving.this]
%s
}
`, body))
}

const helloBody = `
  cluster_local    = true
  rollout_duration = "4s" # gradual rollout: updates are Ready once it completes
  template = {
    containers = [{
      image = "kind.local/hello:v1"
      env   = [{ name = "TARGET", value = "world" }]
      ports = [{ name = "h2c", container_port = 8080 }]
      # A request that fits a 2-core kind node beside Knative; the limit as the API server canonicalizes it.
      resources = { requests = { cpu = "100m" }, limits = { cpu = "1000m", memory = "256Mi" } }
    }]
    scaling = { min_scale = 1, max_scale = 3, metric = "rps", target = 150 }
  }
`

func TestAccService_readyDriftImport(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	ctx := context.Background()
	config := withService(c, helloBody)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{
				// The harness fails the step if the plan after apply is not empty:
				// webhook defaults and quantity normalization must not show.
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(helloAddress, tfjsonpath.New("id"), knownvalue.StringExact("default/hello")),
					statecheck.ExpectKnownValue(helloAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(helloAddress, tfjsonpath.New("url"), knownvalue.StringExact("http://hello.default.svc.cluster.local")),
					statecheck.ExpectKnownValue(helloAddress, tfjsonpath.New("latest_ready_revision_name"), knownvalue.StringExact("hello-00001")),
					statecheck.ExpectKnownValue(helloAddress, tfjsonpath.New("traffic_status"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{"revision_name": knownvalue.StringExact("hello-00001"), "percent": knownvalue.Int64Exact(100), "latest_revision": knownvalue.Bool(true)}),
					})),
				},
				Check: checkLiveService(clients, func(svc *unstructured.Unstructured) error {
					annotations, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "template", "metadata", "annotations")
					if annotations["autoscaling.knative.dev/min-scale"] != "1" || annotations["autoscaling.knative.dev/metric"] != "rps" {
						return fmt.Errorf("scaling annotations are %v", annotations)
					}
					if svc.GetLabels()["networking.knative.dev/visibility"] != "cluster-local" {
						return fmt.Errorf("the Service is not cluster-local: labels %v", svc.GetLabels())
					}
					return nil
				}),
			},
			{
				// Import adopts what is set, without Knative's webhook defaults.
				// The API server stores the canonical "1" for "1000m", an equal quantity.
				ResourceName:            helloAddress,
				ImportState:             true,
				ImportStateId:           "default/hello",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts", "template.containers.0.resources.limits.cpu"},
			},
			{
				// A CI pipeline deploys another image and adds its annotation.
				PreConfig: func() {
					patch := `{"metadata":{"annotations":{"ci.example.com/deployed-by":"pipeline"}},"spec":{"template":{"spec":{"containers":[{"image":"kind.local/hello:v2","env":[{"name":"TARGET","value":"world"}]}]}}}}`
					_, err := clients.Dynamic.Resource(knativeServices).Namespace("default").Patch(ctx, "hello", types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "pipeline"})
					if err != nil {
						t.Fatal(err)
					}
				},
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(helloAddress, "template.containers.0.image", "kind.local/hello:v2"),
					resource.TestCheckNoResourceAttr(helloAddress, "annotations"),
				),
			},
			{
				// Apply restores the image; the pipeline's annotation stays.
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(helloAddress, plancheck.ResourceActionUpdate),
				}},
				Check: checkLiveService(clients, func(svc *unstructured.Unstructured) error {
					containers, _, _ := unstructured.NestedSlice(svc.Object, "spec", "template", "spec", "containers")
					if image := containers[0].(map[string]any)["image"]; image != "kind.local/hello:v1" {
						return fmt.Errorf("image is %v after apply", image)
					}
					if svc.GetAnnotations()["ci.example.com/deployed-by"] != "pipeline" {
						return fmt.Errorf("another writer's annotation was removed: %v", svc.GetAnnotations())
					}
					return nil
				}),
			},
			{
				// Deleted out of band: refresh drops it from state, apply recreates it.
				PreConfig: func() {
					if err := clients.Dynamic.Resource(knativeServices).Namespace("default").Delete(ctx, "hello", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(helloAddress, plancheck.ResourceActionCreate),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(helloAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
				},
			},
		},
	})
}

// serviceDataSources read knative_service.hello once it is applied.
const serviceDataSources = `
data "knative_service" "hello" {
  name       = "hello"
  depends_on = [knative_service.hello]
}

data "knative_revisions" "hello" {
  service    = "hello"
  depends_on = [knative_service.hello]
}
`

func TestAccService_trafficSplitAndRevisionNames(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	revision := func(name, image, traffic string) string {
		return withService(c, fmt.Sprintf(`
  template = {
    name       = %q
    containers = [{ image = %q }]
  }
%s`, name, image, traffic))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{Config: revision("hello-v1", "kind.local/hello:v1", "")},
			{
				Config:      revision("hello-v1", "kind.local/hello:v2", ""),
				ExpectError: wrapped(`Revision name reused`, `revision name stays "hello-v1"`),
			},
			{
				Config: revision("hello-v2", "kind.local/hello:v2", `
  traffic = [
    { revision_name = "hello-v1", percent = 80, tag = "old" },
    { latest_revision = true, percent = 20, tag = "new" },
  ]`) + serviceDataSources,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("data.knative_service.hello", tfjsonpath.New("url"), knownvalue.StringExact("http://hello.default.svc.cluster.local")),
					statecheck.ExpectKnownValue("data.knative_service.hello", tfjsonpath.New("images"), knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("kind.local/hello:v2")})),
					statecheck.ExpectKnownValue("data.knative_service.hello", tfjsonpath.New("latest_ready_revision_name"), knownvalue.StringExact("hello-v2")),
					statecheck.ExpectKnownValue("data.knative_revisions.hello", tfjsonpath.New("revisions"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"name": knownvalue.StringExact("hello-v1"), "generation": knownvalue.Int64Exact(1), "ready": knownvalue.Bool(true),
							"image": knownvalue.StringExact("kind.local/hello:v1"), "image_digest": knownvalue.StringExact(""), // kind.local is not resolved (registries-skipping-tag-resolving)
							"traffic_percent": knownvalue.Int64Exact(80), "tags": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("old")}),
						}),
						knownvalue.ObjectPartial(map[string]knownvalue.Check{
							"name": knownvalue.StringExact("hello-v2"), "generation": knownvalue.Int64Exact(2), "ready": knownvalue.Bool(true),
							"image":           knownvalue.StringExact("kind.local/hello:v2"),
							"traffic_percent": knownvalue.Int64Exact(20), "tags": knownvalue.ListExact([]knownvalue.Check{knownvalue.StringExact("new")}),
						}),
					})),
					statecheck.ExpectKnownValue(helloAddress, tfjsonpath.New("latest_ready_revision_name"), knownvalue.StringExact("hello-v2")),
					statecheck.ExpectKnownValue(helloAddress, tfjsonpath.New("traffic_status"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"revision_name": knownvalue.StringExact("hello-v1"), "percent": knownvalue.Int64Exact(80), "tag": knownvalue.StringExact("old"),
							"url": knownvalue.StringExact("http://old-hello.default.svc.cluster.local"), "latest_revision": knownvalue.Bool(false),
						}),
						knownvalue.ObjectExact(map[string]knownvalue.Check{
							"revision_name": knownvalue.StringExact("hello-v2"), "percent": knownvalue.Int64Exact(20), "tag": knownvalue.StringExact("new"),
							"url": knownvalue.StringExact("http://new-hello.default.svc.cluster.local"), "latest_revision": knownvalue.Bool(true),
						}),
					})),
				},
			},
		},
	})
}

// A revision Knative cannot run fails the apply with Knative's own reason;
// the Service stays in state and a corrected configuration fixes it.
func TestAccService_failingRevisionReportsKnativeReason(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	image := func(img string) string {
		return withService(c, fmt.Sprintf("  template = {\n    containers = [{ image = %q }]\n  }\n", img))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{
				// .invalid never resolves: Knative cannot resolve the tag to a digest.
				Config:      image("registry.example.invalid/hello:latest"),
				ExpectError: regexp.MustCompile(`(?s)Knative Service failed: RevisionFailed.*Revision "hello-00001" failed with message: Unable\s+to\s+fetch\s+image\s+"registry.example.invalid/hello:latest"`),
			},
			{
				Config: image("kind.local/hello:v1"),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(helloAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
				},
			},
		},
	})
}

// badServiceInputs fail at plan without the cluster. An error may name the
// line of configuration Terraform shows with it (atLine): the attribute
// Knative's field path maps to, not the block.
var badServiceInputs = badConfigSet{
	resource: "knative_service",
	render: func(body string) string {
		return "resource \"knative_service\" \"hello\" {\n  name = \"hello\"\n  " + body + "\n}\n"
	},
	cases: withLines("knative_service", "hello", []struct{ name, body, error, at string }{
		{"traffic not summing to 100", `template = { containers = [{ image = "kind.local/a" }] }
  traffic = [{ latest_revision = true, percent = 50 }]`, `(?s)Invalid Knative Service.*Traffic\s+targets\s+sum\s+to\s+50,\s+want\s+100`, `traffic = \[`},
		{"duplicate tags", `template = { containers = [{ image = "kind.local/a" }] }
  traffic = [{ latest_revision = true, percent = 50, tag = "a" }, { revision_name = "hello-1", percent = 50, tag = "a" }]`, `(?s)Invalid Knative Service.*traffic\[0\].tag:.*Multiple\s+definitions\s+for\s+"a"`, `traffic = \[`},
		{"revision name without the service prefix", `template = { name = "other-v1", containers = [{ image = "kind.local/a" }] }`, `(?s)Invalid Knative Service.*template.name:.*must\s+have\s+prefix\s+"hello-"`, `template = \{ name`},
		{"min above max scale", `template = {
    containers = [{ image = "kind.local/a" }]
    scaling    = { min_scale = 5, max_scale = 2 }
  }`, `(?s)Invalid Knative Service.*template.scaling.max_scale:.*max-scale=2\s+is\s+less\s+than\s+min-scale=5`, `template = \{`},
		{"bad quantity", `template = { containers = [{ image = "kind.local/app", resources = { limits = { cpu = "lots" } } }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].resources.limits\["cpu"\]:.*Kubernetes\s+quantity`, `template = \{`},
		{"environment variable name with =", `template = { containers = [{ image = "kind.local/app", env = [{ name = "A=B", value = "1" }] }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].env\[0\].name:.*'='`, `template = \{`},
		{"secret key reference of a bad name", `template = { containers = [{ image = "kind.local/app", env = [{ name = "A", value_from = { secret_key_ref = { name = "My_Secret", key = "k" } } }] }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].env\[0\].value_from.secret_key_ref.name:.*RFC\s+1123\s+subdomain`, `template = \{`},
		{"image pull secret of a bad name", `template = {
    containers         = [{ image = "kind.local/app" }]
    image_pull_secrets = [{ name = "-creds" }]
  }`, `(?s)Invalid Knative Service.*template.image_pull_secrets\[0\].name:.*RFC\s+1123\s+subdomain`, `template = \{`},
		{"namespace not a DNS label", `namespace = "Bad_NS"
  template = { containers = [{ image = "kind.local/app" }] }`, `(?s)Invalid Knative Service.*namespace:.*RFC\s+1123\s+label`, `namespace = "Bad_NS"`},
		{"label value with a space", `labels   = { team = "web team" }
  template = { containers = [{ image = "kind.local/app" }] }`, `(?s)Invalid Knative Service.*labels:.*a\s+valid\s+label\s+must`, `labels   = \{`},
		{"port out of range", `template = { containers = [{ image = "kind.local/app", ports = [{ container_port = 70000 }] }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].ports\[0\].container_port:.*between\s+1\s+and\s+65535`, `template = \{`},
		{"two ports", `template = { containers = [{ image = "kind.local/a", ports = [{ container_port = 80 }, { container_port = 81 }] }] }`, `(?s)Attribute template.containers\[0\].ports list must contain at most 1`, ""},
		{"scaling and annotation both", `template = {
    annotations = { "autoscaling.knative.dev/min-scale" = "1" }
    containers  = [{ image = "kind.local/a" }]
    scaling     = { max_scale = 2 }
  }`, `(?s)Conflicting scaling settings`, ""},
		{"startup probe without a port", `template = { containers = [{ image = "kind.local/hello", startup_probe = { http_get = { path = "/" } } }] }`,
			`(?s)Startup probe without a port.*template.containers\[0\].startup_probe.http_get.port`, ""},
		{"volume mount of no volume", `template = {
    containers = [{ image = "kind.local/hello", volume_mounts = [{ name = "data", mount_path = "/data" }] }]
  }`, `(?s)Invalid Knative Service.*template.containers\[0\].volume_mounts\[0\].name:.*volumeMount\s+has\s+no\s+matching\s+volume`, `template = \{`},
		{"volume with two sources", `template = {
    containers = [{ image = "kind.local/hello", volume_mounts = [{ name = "data", mount_path = "/data", read_only = true }] }]
    volumes    = [{ name = "data", secret = { secret_name = "a" }, config_map = { name = "b" } }]
  }`, `(?s)Invalid Knative Service.*template.volumes\[0\].secret:.*expected\s+exactly\s+one,\s+got\s+both`, `template = \{`},
		{"bad file mode", `template = {
    containers = [{ image = "kind.local/hello" }]
    volumes    = [{ name = "data", secret = { secret_name = "a", default_mode = 1000 } }]
  }`, `(?s)template.volumes\[0\].secret.default_mode.*between\s+0\s+and\s+511`, ""},
		{"bad empty dir size", `template = {
    containers = [{ image = "kind.local/hello" }]
    volumes    = [{ name = "data", empty_dir = { size_limit = "big" } }]
  }`, `(?s)Invalid Knative Service.*template.volumes\[0\].empty_dir.size_limit:.*Kubernetes\s+quantity`, `template = \{`},
		{"bad rollout duration", `rollout_duration = "soon"
  template = { containers = [{ image = "kind.local/a" }] }`, `(?s)Invalid Knative Service.*rollout-duration`, `rollout_duration = "soon"`},
		{"config map key reference of a bad name", `template = { containers = [{ image = "kind.local/app", env = [{ name = "A", value_from = { config_map_key_ref = { name = "My.CM_", key = "k" } } }] }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].env\[0\].value_from.config_map_key_ref.name:.*RFC\s+1123\s+subdomain`, `template = \{`},
		{"secret key reference of a bad key", `template = { containers = [{ image = "kind.local/app", env = [{ name = "A", value_from = { secret_key_ref = { name = "creds", key = "a/b" } } }] }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].env\[0\].value_from.secret_key_ref.key:.*valid\s+config\s+key`, `template = \{`},
		{"env from a Secret of a bad name", `template = { containers = [{ image = "kind.local/app", env_from = [{ secret_ref = { name = "Creds" } }] }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].env_from\[0\].secret_ref.name:.*RFC\s+1123\s+subdomain`, `template = \{`},
		{"env from a ConfigMap of a bad name", `template = { containers = [{ image = "kind.local/app", env_from = [{ config_map_ref = { name = "settings!" } }] }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].env_from\[0\].config_map_ref.name:.*RFC\s+1123\s+subdomain`, `template = \{`},
		{"label key that is no name", `labels   = { "-team" = "web" }
  template = { containers = [{ image = "kind.local/app" }] }`, `(?s)Invalid Knative Service.*labels:.*name\s+part\s+must\s+consist`, `labels   = \{`},
		{"annotation key with a space", `annotations = { "my note" = "x" }
  template    = { containers = [{ image = "kind.local/app" }] }`, `(?s)Invalid Knative Service.*annotations:.*name\s+part\s+must\s+consist`, `annotations = \{`},
		{"template label value too long", `template = {
    labels     = { version = "` + strings.Repeat("v", 64) + `" }
    containers = [{ image = "kind.local/app" }]
  }`, `(?s)Invalid Knative Service.*template.labels:.*must\s+be\s+no\s+more\s+than\s+63\s+bytes`, `template = \{`},
		{"template annotation key with a space", `template = {
    annotations = { "my note" = "x" }
    containers  = [{ image = "kind.local/app" }]
  }`, `(?s)Invalid Knative Service.*template.annotations:.*name\s+part\s+must\s+consist`, `template = \{`},
		{"port name Knative does not serve", `template = { containers = [{ image = "kind.local/app", ports = [{ name = "grpc", container_port = 8080 }] }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].ports:.*Port\s+name\s+grpc\s+is\s+not\s+allowed`, `template = \{`},
		{"volume name that is no DNS label", `template = {
    containers = [{ image = "kind.local/app", volume_mounts = [{ name = "Data", mount_path = "/data", read_only = true }] }]
    volumes    = [{ name = "Data", secret = { secret_name = "creds" } }]
  }`, `(?s)Invalid Knative Service.*template.volumes\[0\].name:.*RFC\s+1123\s+label`, `template = \{`},
		{"volume of a Secret of a bad name", `template = {
    containers = [{ image = "kind.local/app", volume_mounts = [{ name = "data", mount_path = "/data", read_only = true }] }]
    volumes    = [{ name = "data", secret = { secret_name = "Creds" } }]
  }`, `(?s)Invalid Knative Service.*template.volumes\[0\].secret.secret_name:.*RFC\s+1123\s+subdomain`, `template = \{`},
		{"volume of a ConfigMap of a bad name", `template = {
    containers = [{ image = "kind.local/app", volume_mounts = [{ name = "data", mount_path = "/data", read_only = true }] }]
    volumes    = [{ name = "data", config_map = { name = "_settings" } }]
  }`, `(?s)Invalid Knative Service.*template.volumes\[0\].config_map.name:.*RFC\s+1123\s+subdomain`, `template = \{`},
		{"service account of a bad name", `template = {
    service_account_name = "Runner"
    containers           = [{ image = "kind.local/app" }]
  }`, `(?s)Invalid Knative Service.*template.service_account_name:.*RFC\s+1123\s+subdomain`, `template = \{`},
		{"container name that is no DNS label", `template = { containers = [{ name = "Web_1", image = "kind.local/app" }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].name:.*RFC\s+1123\s+label`, `template = \{`},
		{"node selector key that is no label key", `template = {
    node_selector = { "bad key!" = "x" }
    containers    = [{ image = "kind.local/app" }]
  }`, `(?s)Invalid Knative Service.*template.node_selector:.*name\s+part\s+must\s+consist`, `template = \{`},
		{"env with both value and value_from", `template = { containers = [{ image = "kind.local/app", env = [{ name = "A", value = "x", value_from = { secret_key_ref = { name = "creds", key = "a" } } }] }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].env\[0\].value_from:.*may\s+not\s+be\s+specified\s+when\s+.value.\s+is\s+not\s+empty`, `template = \{`},
		{"negative cpu request", `template = { containers = [{ image = "kind.local/app", resources = { requests = { cpu = "-100m" } } }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].resources.requests\["cpu"\]:.*greater\s+than\s+or\s+equal\s+to\s+0`, `template = \{`},
		{"image that is no reference", `template = { containers = [{ image = "kind.local/a" }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].image:.*Failed\s+to\s+parse\s+image\s+reference`, `template = \{`},
		{"timeout above Knative's maximum", `template = {
    timeout_seconds = 3600
    containers      = [{ image = "kind.local/app" }]
  }`, `(?s)Invalid Knative Service.*template.timeout_seconds:.*3600`, `template = \{`},
		{"scaling metric Knative does not know", `template = {
    containers = [{ image = "kind.local/app" }]
    scaling    = { metric = "latency" }
  }`, `(?s)Invalid Knative Service.*template.scaling.metric:.*latency`, `template = \{`},
		{"traffic tag that is no DNS label", `template = { containers = [{ image = "kind.local/app" }] }
  traffic = [{ latest_revision = true, percent = 100, tag = "Bad_Tag" }]`, `(?s)Invalid Knative Service.*traffic:.*not\s+a\s+DNS\s+1035\s+label`, `traffic = \[`},
		{"memory request that is no quantity", `template = { containers = [{ image = "kind.local/app", resources = { requests = { memory = "1 GB" } } }] }`,
			`(?s)Invalid Knative Service.*template.containers\[0\].resources.requests\["memory"\]:.*Kubernetes\s+quantity`, `template = \{`},
		{"negative rollout duration", `rollout_duration = "-10s"
  template = { containers = [{ image = "kind.local/app" }] }`, `(?s)Invalid Knative Service.*rollout_duration:.*-10s`, `rollout_duration = "-10s"`},
	}),
}

func TestService_badInputsAtPlan(t *testing.T) { badServiceInputs.runOffline(t) }

func checkLiveService(c *kube.Clients, check func(*unstructured.Unstructured) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		svc, err := c.Dynamic.Resource(knativeServices).Namespace("default").Get(context.Background(), "hello", metav1.GetOptions{})
		if err != nil {
			return err
		}
		return check(svc)
	}
}

// TestAccService_anotherManagerTakesOver: another server-side apply client
// forces its own image onto the Service, taking ownership of the field from
// the provider. The refresh shows it as drift, and the apply takes the field
// back: the live image is the configured one and the other manager owns
// nothing in the containers any more.
func TestAccService_anotherManagerTakesOver(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	config := withService(c, `  template = { containers = [{ image = "kind.local/hello:v1" }] }`)
	containersOwnedBy := func(svc *unstructured.Unstructured, manager string) bool {
		for _, entry := range svc.GetManagedFields() {
			if entry.Manager == manager && entry.FieldsV1 != nil && strings.Contains(entry.FieldsV1.GetRawString(), `"f:containers"`) {
				return true
			}
		}
		return false
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{Config: config, ConfigStateChecks: readyWith("hello-00001")},
			{
				PreConfig: func() {
					takeover := knativeService("default", "hello")
					_ = unstructured.SetNestedSlice(takeover.Object, []any{map[string]any{"image": "kind.local/hello:platform"}}, "spec", "template", "spec", "containers")
					_, err := clients.Dynamic.Resource(knativeServices).Namespace("default").Apply(context.Background(), "hello", takeover,
						metav1.ApplyOptions{FieldManager: "platform-team", Force: true})
					if err != nil {
						t.Fatal(err)
					}
				},
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr(helloAddress, "template.containers.0.image", "kind.local/hello:platform"),
					checkLiveService(clients, func(svc *unstructured.Unstructured) error {
						if !containersOwnedBy(svc, "platform-team") || containersOwnedBy(svc, kube.DefaultFieldManager) {
							return fmt.Errorf("the takeover did not move the containers to platform-team: %v", svc.GetManagedFields())
						}
						return nil
					}),
				),
			},
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction(helloAddress, plancheck.ResourceActionUpdate),
				}},
				ConfigStateChecks: readyWith("hello-00003"),
				Check: checkLiveService(clients, func(svc *unstructured.Unstructured) error {
					containers, _, _ := unstructured.NestedSlice(svc.Object, "spec", "template", "spec", "containers")
					if image := containers[0].(map[string]any)["image"]; image != "kind.local/hello:v1" {
						return fmt.Errorf("image is %v after apply", image)
					}
					if containersOwnedBy(svc, "platform-team") || !containersOwnedBy(svc, kube.DefaultFieldManager) {
						return fmt.Errorf("the provider did not take the containers back: %v", svc.GetManagedFields())
					}
					return nil
				}),
			},
		},
	})
}

// A Service created outside Terraform is not adopted silently by create.
func TestAccService_existingServiceMustBeImported(t *testing.T) {
	acctest.Extended(t, "internal/serving TestPrepareCreate and internal/controller TestServiceCreateUpdateDelete")
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{Config: configRuntime(c, "")},
			{
				PreConfig:   func() { createKnativeService(t, clients, "default", "hello") },
				Config:      withService(c, `  template = { containers = [{ image = "kind.local/hello:v1" }] }`),
				ExpectError: wrapped(`Cannot create the Knative Service`, `the Knative Service default/hello already exists. To manage it with Terraform, import it`),
			},
		},
	})
}
