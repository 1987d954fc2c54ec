package provider_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
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
	acctest.Extended(t, "internal/serving TestWaitReady (deleted while waiting); TestAccService_readyDriftImport recreates a Service deleted out of band")
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

// outage stops the sandbox's control plane (etcd, API server, controller
// manager) for a while once a condition on the Knative Service hello holds,
// in the background, while terraform works.
type outage struct {
	done     chan struct{}
	happened bool
	err      error
}

func outageWhen(t *testing.T, s *sandbox.Sandbox, clients *kube.Clients, d time.Duration, when func(*unstructured.Unstructured) bool) *outage {
	t.Helper()
	o := &outage{done: make(chan struct{})}
	go func() {
		defer close(o.done)
		services := clients.Dynamic.Resource(knativeServices).Namespace("default")
		for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			svc, err := services.Get(context.Background(), "hello", metav1.GetOptions{})
			if err != nil || !when(svc) {
				continue
			}
			ctx := context.Background()
			if o.err = s.StopControlPlane(ctx); o.err != nil {
				return
			}
			o.happened = true
			stamp(t, "control plane stopped")
			time.Sleep(d)
			o.err = s.StartControlPlane(ctx)
			stamp(t, fmt.Sprintf("control plane started again (%v)", o.err))
			logProgress(t, services)
			return
		}
	}()
	t.Cleanup(func() { <-o.done })
	return o
}

// logProgress logs how the Service fares after an outage, until it is Ready
// for its generation or gone: where the time goes when a step is slow.
func logProgress(t *testing.T, services dynamic.ResourceInterface) {
	last := ""
	for end := time.Now().Add(3 * time.Minute); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		svc, err := services.Get(context.Background(), "hello", metav1.GetOptions{})
		now := fmt.Sprint(err)
		if err == nil {
			generation := svc.GetGeneration()
			verdict := serving.Judge(svc, generation)
			now = fmt.Sprintf("generation %d: %s", generation, verdict.Waiting)
			if verdict.State == serving.Ready && svc.GetDeletionTimestamp() == nil {
				stamp(t, now)
				return
			}
		}
		if now != last {
			stamp(t, now)
			last = now
		}
		if apierrors.IsNotFound(err) {
			return
		}
	}
}

// check fails unless the outage happened and the control plane came back.
func (o *outage) check() error {
	<-o.done
	if o.err != nil {
		return fmt.Errorf("the outage: %w", o.err)
	}
	if !o.happened {
		return errors.New("the control plane was never stopped: the test proved nothing")
	}
	return nil
}

func serviceWaitingLong(c *acctest.Cluster, image string) string {
	return withService(c, `  template = { containers = [{ image = "`+image+`" }] }
  timeouts {
    create = "5m"
    update = "5m"
    delete = "5m"
  }`)
}

// TestAccFault_apiServerDown: the API server (with etcd and the controller
// manager) stopped for 10 seconds while terraform creates, updates and
// deletes a Service. Once the object is written, the wait rides out the
// outage and ends Ready; a plan while the API server is gone fails saying it
// cannot be reached, changing nothing; deletion completes through an outage
// and leaves nothing behind.
func TestAccFault_apiServerDown(t *testing.T) {
	c := acctest.PreCheck(t)
	s := c.Sandbox(t)
	clients := c.Clients(t)
	var during *outage
	generation := func(g int64) func(*unstructured.Unstructured) bool {
		return func(svc *unstructured.Unstructured) bool { return svc.GetGeneration() == g }
	}
	outageChecked := func(*terraform.State) error { return during.check() }
	t.Cleanup(func() {
		if s.ControlPlaneStopped() {
			_ = s.StartControlPlane(context.Background())
		}
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             resource.ComposeTestCheckFunc(checkRuntimeRemoved(clients), outageChecked),
		Steps: []resource.TestStep{
			{
				PreConfig:         func() { stamp(t, "create"); during = outageWhen(t, s, clients, 10*time.Second, generation(1)) },
				Config:            serviceWaitingLong(c, "kind.local/hello:v1"),
				Check:             outageChecked,
				ConfigStateChecks: readyWith("hello-00001"),
			},
			{
				PreConfig:         func() { stamp(t, "update"); during = outageWhen(t, s, clients, 10*time.Second, generation(2)) },
				Config:            serviceWaitingLong(c, "kind.local/hello:v2"),
				Check:             outageChecked,
				ConfigStateChecks: readyWith("hello-00002"),
			},
			{
				PreConfig: func() {
					stamp(t, "plan without an API server")
					if err := s.StopControlPlane(context.Background()); err != nil {
						t.Fatal(err)
					}
				},
				Config:      serviceWaitingLong(c, "kind.local/hello:v3"),
				ExpectError: regexp.MustCompile(`(?s)Kubernetes API server.*cannot be reached.*connection refused`),
			},
			{
				// The state is what it was: with the API server back, v2 is in sync.
				PreConfig: func() {
					stamp(t, "plan once it is back")
					if err := s.StartControlPlane(context.Background()); err != nil {
						t.Fatal(err)
					}
				},
				Config:   serviceWaitingLong(c, "kind.local/hello:v2"),
				PlanOnly: true,
			},
			{
				PreConfig: func() {
					stamp(t, "destroy")
					during = outageWhen(t, s, clients, 10*time.Second, func(svc *unstructured.Unstructured) bool { return svc.GetDeletionTimestamp() != nil })
				},
				Config:  serviceWaitingLong(c, "kind.local/hello:v2"),
				Destroy: true,
			},
		},
	})
}

func stamp(t *testing.T, what string) { t.Logf("%s: %s", time.Now().Format(time.TimeOnly), what) }
