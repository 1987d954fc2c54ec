package provider_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// configRuntime installs the runtime the config resources depend on.
func configRuntime(c *acctest.Cluster, resources string) string {
	return servingConfig(c, "  delete_knative_objects = true") + resources
}

const autoscalerConfig = `
resource "knative_serving_config" "autoscaler" {
  name       = "autoscaler"
  data       = { "enable-scale-to-zero" = "false", "max-scale" = "10" }
  depends_on = [knative_serving.this]
}
`

const domainConfig = `
resource "knative_serving_config" "domain" {
  name       = "domain"
  data       = { "example.com" = "" }
  depends_on = [knative_serving.this]
}
`

func TestAccServingConfig_ownsOnlyItsKeys(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	ctx := context.Background()
	both := configRuntime(c, autoscalerConfig+domainConfig)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{
				Config: both,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("knative_serving_config.autoscaler", "id", "knative-serving/config-autoscaler"),
					checkConfigData(clients, "config-autoscaler", map[string]string{"enable-scale-to-zero": "false", "max-scale": "10"}),
					checkConfigHasExample(clients, "config-autoscaler"),
					// The effect is real: Knative's controller puts the new domain in the URL.
					checkServiceURL(t, clients, "hello", "http://hello.default.example.com"),
				),
			},
			{
				// Another writer changes one of our keys and adds its own.
				PreConfig: func() {
					patch := `{"data":{"max-scale":"20","stable-window":"90s"}}`
					_, err := clients.Kubernetes.CoreV1().ConfigMaps("knative-serving").Patch(ctx, "config-autoscaler", types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: "other-writer"})
					if err != nil {
						t.Fatal(err)
					}
				},
				RefreshState:       true,
				ExpectNonEmptyPlan: true,
				Check: resource.ComposeAggregateTestCheckFunc(
					resource.TestCheckResourceAttr("knative_serving_config.autoscaler", "data.max-scale", "20"),
					resource.TestCheckNoResourceAttr("knative_serving_config.autoscaler", "data.stable-window"),
				),
			},
			{
				// Apply restores our key; the other writer's key stays.
				Config: both,
				Check:  checkConfigData(clients, "config-autoscaler", map[string]string{"max-scale": "10", "stable-window": "90s"}),
			},
			{
				// A key dropped from data is removed from the config map.
				Config: configRuntime(c, domainConfig+`
resource "knative_serving_config" "autoscaler" {
  name       = "autoscaler"
  data       = { "enable-scale-to-zero" = "false" }
  depends_on = [knative_serving.this]
}
`),
				Check: checkConfigLacks(clients, "config-autoscaler", "max-scale"),
			},
			{
				// Keys of the runtime installer are not this resource's to set.
				Config: configRuntime(c, domainConfig+`
resource "knative_serving_config" "network" {
  name       = "network"
  data       = { "ingress-class" = "istio.ingress.networking.knative.dev" }
  depends_on = [knative_serving.this]
}
`),
				ExpectError: wrapped(`Setting config-network failed`, `ingress-class managed by another writer`),
			},
			{
				// Destroying the autoscaler config removes only its keys.
				Config: configRuntime(c, domainConfig),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkConfigLacks(clients, "config-autoscaler", "enable-scale-to-zero"),
					checkConfigData(clients, "config-autoscaler", map[string]string{"stable-window": "90s"}),
					checkConfigHasExample(clients, "config-autoscaler"),
					checkConfigData(clients, "config-network", map[string]string{"ingress-class": "kourier.ingress.networking.knative.dev"}),
				),
			},
			{
				ResourceName:      "knative_serving_config.domain",
				ImportState:       true,
				ImportStateId:     "config-domain",
				ImportStateVerify: true,
			},
		},
	})
}

// badServingConfigValues fail at plan without the cluster.
var badServingConfigValues = badConfigSet{
	resource: "knative_serving_config",
	render:   func(body string) string { return "resource \"knative_serving_config\" \"this\" {\n  " + body + "\n}\n" },
	cases: []badConfig{
		{"unknown config map", `name = "autoscaling"
  data = {}`, `(?s)value must be one of`},
		{"_example", `name = "autoscaler"
  data = { "_example" = "x" }`, `(?s)_example`},
		{"autoscaler range", `name = "autoscaler"
  data = { "max-scale" = "-1" }`, `(?s)Invalid config-autoscaler value.*max-scale.*must be in \[0,`},
		{"deployment duration", `name = "deployment"
  data = { "progress-deadline" = "10" }`, `(?s)Invalid config-deployment value.*missing\s+unit\s+in\s+duration`},
		{"network template", `name = "network"
  data = { "domain-template" = "{{.Name}" }`, `(?s)Invalid config-network value.*domain-template`},
		{"gc number", `name = "gc"
  data = { "min-non-active-revisions" = "x" }`, `(?s)Invalid config-gc value.*invalid\s+syntax`},
		{"misspelt feature flag", `name = "features"
  data = { "kubernetes.podspec-affinity" = "enabeld" }`, `(?s)Invalid config-features value.*line \d+, in resource.*data = .*kubernetes.podspec-affinity:\s+a\s+feature\s+flag\s+is\s+Enabled,\s+Disabled\s+or\s+Allowed`},
		{"domain that is no domain", `name = "domain"
  data = { "example com" = "" }`, `(?s)Invalid config-domain value.*"example com"\s+is\s+not\s+a\s+domain\s+Knative\s+can\s+serve`},
		{"negative duration", `name = "autoscaler"
  data = { "stable-window" = "-60s" }`, `(?s)Invalid config-autoscaler value.*stable-window`},
		{"bad bool", `name = "autoscaler"
  data = { "enable-scale-to-zero" = "ture" }`, `(?s)Invalid config-autoscaler value.*enable-scale-to-zero.*invalid\s+syntax`},
		{"negative revision timeout", `name = "defaults"
  data = { "revision-timeout-seconds" = "-5" }`, `(?s)Invalid config-defaults value.*line \d+, in resource.*data = .*revision-timeout-seconds:\s+-5\s+is\s+negative`},
		{"revision timeout that is no number", `name = "defaults"
  data = { "revision-timeout-seconds" = "five minutes" }`, `(?s)Invalid config-defaults value.*revision-timeout-seconds.*invalid\s+syntax`},
		{"retention that is no duration", `name = "gc"
  data = { "retain-since-create-time" = "forever" }`, `(?s)Invalid config-gc value.*retain-since-create-time.*invalid\s+duration`},
		{"window without a unit", `name = "autoscaler"
  data = { "stable-window" = "60" }`, `(?s)Invalid config-autoscaler value.*stable-window.*missing\s+unit`},
		{"container concurrency target of 0", `name = "autoscaler"
  data = { "container-concurrency-target-default" = "0" }`, `(?s)Invalid config-autoscaler value.*container-concurrency-target-default`},
		{"misspelt feature flag in any case", `name = "features"
  data = { "kubernetes.podspec-tolerations" = "Enable" }`, `(?s)Invalid config-features value.*kubernetes.podspec-tolerations:\s+a\s+feature\s+flag`},
	},
}

func TestServingConfig_badValuesAtPlan(t *testing.T) { badServingConfigValues.runOffline(t) }

func checkConfigData(c *kube.Clients, name string, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		cm, err := c.Kubernetes.CoreV1().ConfigMaps("knative-serving").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for k, v := range want {
			if got, ok := cm.Data[k]; !ok || got != v {
				return fmt.Errorf("%s: %s is %q (present %v), want %q", name, k, got, ok, v)
			}
		}
		return nil
	}
}

func checkConfigLacks(c *kube.Clients, name, key string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		cm, err := c.Kubernetes.CoreV1().ConfigMaps("knative-serving").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if v, ok := cm.Data[key]; ok {
			return fmt.Errorf("%s still has %s = %q", name, key, v)
		}
		return nil
	}
}

func checkConfigHasExample(c *kube.Clients, name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		cm, err := c.Kubernetes.CoreV1().ConfigMaps("knative-serving").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(cm.Data["_example"]) < 100 {
			return fmt.Errorf("%s lost its _example", name)
		}
		return nil
	}
}

// checkServiceURL creates a Knative Service and waits for Knative to give it url.
func checkServiceURL(t *testing.T, c *kube.Clients, name, url string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		createKnativeService(t, c, "default", name)
		var got string
		err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			svc, err := c.Dynamic.Resource(knativeServices).Namespace("default").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			got, _, _ = unstructured.NestedString(svc.Object, "status", "url")
			return got == url, nil
		})
		if err != nil {
			return fmt.Errorf("Knative Service %s has URL %q, want %q: %w", name, got, url, err)
		}
		return nil
	}
}
