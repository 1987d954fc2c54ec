package provider_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
)

// The fault tests stop one of Knative's components in the sandbox while the
// provider works, and check that it says what is wrong, that the state stays
// true to the cluster and that a re-apply converges once the component is
// back.

func serviceWithImage(c *acctest.Cluster, image string) string {
	return withService(c, `  template = { containers = [{ image = "`+image+`" }] }
  timeouts {
    update = "20s"
  }`)
}

// pause stops a Knative component of the sandbox for at most d: should a
// step not fail as expected, the harness destroys what the test made right
// away, which needs Knative back.
func pause(t *testing.T, s *sandbox.Sandbox, component string, d time.Duration) {
	t.Helper()
	if err := s.PauseKnative(component); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(d, func() { _ = s.ResumeKnative(component) })
	t.Cleanup(func() { timer.Stop() })
}

func resume(t *testing.T, s *sandbox.Sandbox, component string) {
	t.Helper()
	if err := s.ResumeKnative(component); err != nil {
		t.Fatal(err)
	}
}

func readyWith(revision string) []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue(helloAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
		statecheck.ExpectKnownValue(helloAddress, tfjsonpath.New("latest_ready_revision_name"), knownvalue.StringExact(revision)),
	}
}

// TestAccFault_controllerDown: with Knative's controller stopped, an update
// is written but never reconciled; the wait ends saying so, not with a bare
// timeout, and the next apply, with the controller back, converges.
func TestAccFault_controllerDown(t *testing.T) {
	c := acctest.PreCheck(t)
	s := c.Sandbox(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(c.Clients(t)),
		Steps: []resource.TestStep{
			{Config: serviceWithImage(c, "kind.local/hello:v1"), ConfigStateChecks: readyWith("hello-00001")},
			{
				PreConfig:   func() { pause(t, s, "controller", time.Minute) },
				Config:      serviceWithImage(c, "kind.local/hello:v2"),
				ExpectError: regexp.MustCompile(`(?s)Waiting for the Knative Service failed.*Knative\s+has\s+not\s+reconciled\s+generation\s+2\s+yet\s+\(observed\s+1\)`),
			},
			{
				PreConfig:         func() { resume(t, s, "controller") },
				Config:            serviceWithImage(c, "kind.local/hello:v2"),
				ConfigStateChecks: readyWith("hello-00002"),
			},
		},
	})
}

// TestAccFault_webhookDown: with Knative's webhook stopped, the API server
// admits no Knative object; the plan warns that the cluster cannot judge
// the change, the apply fails saying the webhook cannot be reached, nothing
// changes, and the next apply converges.
func TestAccFault_webhookDown(t *testing.T) {
	c := acctest.PreCheck(t)
	s := c.Sandbox(t)
	clients := c.Clients(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{Config: serviceWithImage(c, "kind.local/hello:v1"), ConfigStateChecks: readyWith("hello-00001")},
			{
				PreConfig:   func() { pause(t, s, "webhook", time.Minute) },
				Config:      serviceWithImage(c, "kind.local/hello:v2"),
				ExpectError: regexp.MustCompile(`(?s)Applying the Knative Service failed.*Knative's\s+webhook\s+cannot\s+be\s+reached`),
			},
			{
				PreConfig: func() {
					svc, err := clients.Dynamic.Resource(knativeServices).Namespace("default").Get(context.Background(), "hello", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					if svc.GetGeneration() != 1 {
						t.Fatalf("the Service changed while the webhook was down: generation %d", svc.GetGeneration())
					}
					resume(t, s, "webhook")
					time.Sleep(2 * time.Second) // its server up, not just its process
				},
				Config:            serviceWithImage(c, "kind.local/hello:v2"),
				ConfigStateChecks: readyWith("hello-00002"),
			},
		},
	})
}

// TestAccFault_deletedWhileWaiting: the Service deleted by someone else while
// the apply waits for it (the controller stopped, so the wait lasts): the
// apply says so, and the next one creates it again.
func TestAccFault_deletedWhileWaiting(t *testing.T) {
	c := acctest.PreCheck(t)
	s := c.Sandbox(t)
	clients := c.Clients(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{Config: serviceWithImage(c, "kind.local/hello:v1"), ConfigStateChecks: readyWith("hello-00001")},
			{
				PreConfig: func() {
					pause(t, s, "controller", time.Minute)
					go func() {
						// Once the update is written (generation 2), delete the Service.
						services := clients.Dynamic.Resource(knativeServices).Namespace("default")
						for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
							if svc, err := services.Get(context.Background(), "hello", metav1.GetOptions{}); err == nil && svc.GetGeneration() == 2 {
								_ = services.Delete(context.Background(), "hello", metav1.DeleteOptions{})
								return
							}
						}
					}()
				},
				Config:      serviceWithImage(c, "kind.local/hello:v2"),
				ExpectError: regexp.MustCompile(`(?s)Knative\s+Service\s+default/hello\s+was\s+deleted\s+while\s+waiting\s+for\s+it`),
			},
			{
				PreConfig:         func() { resume(t, s, "controller") },
				Config:            serviceWithImage(c, "kind.local/hello:v2"),
				ConfigStateChecks: readyWith("hello-00001"), // created anew: its first revision
			},
		},
	})
}
