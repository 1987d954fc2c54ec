package provider_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
)

// quietConfig is a Service, a Route to its Configuration and a DomainMapping
// to it, with the values the steps of TestAccQuietPlans change.
type quietConfig struct {
	image, tag, serviceTeam, routeTeam, note string
}

func (q quietConfig) hcl(c *acctest.Cluster) string {
	tag := ""
	if q.tag != "" {
		tag = fmt.Sprintf(", tag = %q", q.tag)
	}
	return configRuntime(c, fmt.Sprintf(`
resource "knative_service" "quiet" {
  name       = "quiet"
  labels     = { team = %[2]q }
  template   = { containers = [{ image = %[1]q }] }
  traffic    = [{ latest_revision = true, percent = 100%[3]s }]
  depends_on = [knative_serving.this]
}

resource "knative_route" "quiet" {
  name    = "quiet-preview"
  labels  = { team = %[4]q }
  traffic = [{ configuration_name = knative_service.quiet.name, percent = 100 }]
}

resource "knative_domain_mapping" "quiet" {
  name        = "quiet.example.com"
  ref         = { name = knative_service.quiet.name }
  annotations = { note = %[5]q }
}
`, q.image, q.serviceTeam, tag, q.routeTeam, q.note))
}

var (
	serviceStatusAttributes = []string{"url", "address_url", "observed_generation", "ready", "conditions",
		"latest_created_revision_name", "latest_ready_revision_name", "traffic_status"}
	routeStatusAttributes         = []string{"url", "address_url", "observed_generation", "ready", "conditions", "traffic_status"}
	domainMappingStatusAttributes = []string{"url", "address_url", "observed_generation", "ready", "conditions"}
)

// expectStatusPlan checks that the plan updates address in place with exactly
// the unknown status attributes among all; the others keep their state's
// values. The harness's own check that the plan after each apply is empty
// catches an apply that did not keep what the plan promised.
func expectStatusPlan(address string, all []string, unknown ...string) []plancheck.PlanCheck {
	checks := []plancheck.PlanCheck{plancheck.ExpectResourceAction(address, plancheck.ResourceActionUpdate)}
	for _, a := range all {
		if slices.Contains(unknown, a) {
			checks = append(checks, plancheck.ExpectUnknownValue(address, tfjsonpath.New(a)))
		} else {
			checks = append(checks, plancheck.ExpectKnownValue(address, tfjsonpath.New(a), knownvalue.NotNull()))
		}
	}
	return checks
}

// TestAccQuietPlans: an update marks unknown only the status attributes it
// can change, so a URL consumed elsewhere is not replanned by an image bump.
func TestAccQuietPlans(t *testing.T) {
	c := acctest.PreCheck(t)
	first := quietConfig{image: "kind.local/hello:v1", serviceTeam: "a", routeTeam: "a", note: "a"}
	newImage := first
	newImage.image = "kind.local/hello:v2"
	newTraffic := newImage
	newTraffic.tag = "current"
	newServiceLabel := newTraffic
	newServiceLabel.serviceTeam = "b"
	newRouteLabel := newServiceLabel
	newRouteLabel.routeTeam = "b"
	newAnnotation := newRouteLabel
	newAnnotation.note = "b"
	const service, route, mapping = "knative_service.quiet", "knative_route.quiet", "knative_domain_mapping.quiet"
	reconciled := []string{"ready", "conditions"}

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(c.Clients(t)),
		Steps: []resource.TestStep{
			{Config: first.hcl(c)},
			{
				// A template change: a new revision, nothing about the URL.
				Config: newImage.hcl(c),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: expectStatusPlan(service, serviceStatusAttributes,
					append(reconciled, "observed_generation", "latest_created_revision_name", "latest_ready_revision_name", "traffic_status")...)},
			},
			{
				// A traffic change: no new revision.
				Config:           newTraffic.hcl(c),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: expectStatusPlan(service, serviceStatusAttributes, append(reconciled, "observed_generation", "traffic_status")...)},
			},
			{
				// A label change: config-domain's selectors may move the URL; no new generation.
				Config:           newServiceLabel.hcl(c),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: expectStatusPlan(service, serviceStatusAttributes, append(reconciled, "url", "address_url", "traffic_status")...)},
			},
			{
				Config:           newRouteLabel.hcl(c),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: expectStatusPlan(route, routeStatusAttributes, append(reconciled, "url", "address_url", "traffic_status")...)},
			},
			{
				// The domain's URL depends only on TLS.
				Config:           newAnnotation.hcl(c),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: expectStatusPlan(mapping, domainMappingStatusAttributes, reconciled...)},
			},
		},
	})
}
