package provider_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// scaleServices is how many Services TestAccScale applies
// (KNATIVE_TEST_SCALE_SERVICES overrides it).
const scaleServices = 200

// TestAccScale runs the provider binary under the terraform CLI, as users
// do, at -parallelism=50 with the provider's default client (no client-side
// rate limit): the runtime and 200 Services are created and Ready, all 200
// updated (each one's new revision Ready: no lost updates), a plan after that
// is empty, and destroy leaves none of them. Every command must succeed: a
// throttled or refused request fails the apply.
func TestAccScale(t *testing.T) {
	acctest.Extended(t, "make bench (BenchmarkServiceLifecycle) at scale, and the fast tier for every branch")
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	count := scaleServices
	if v := os.Getenv("KNATIVE_TEST_SCALE_SERVICES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("KNATIVE_TEST_SCALE_SERVICES=%q is not a positive number", v)
		}
		count = n
	}
	tf := terraformCLI(t, c)
	run(t, tf, "apply", "-auto-approve", "-input=false", "-parallelism=50", "-var", "image=kind.local/hello:v1", fmt.Sprintf("-var=services=%d", count))
	checkScaleServices(t, clients, count, 1)
	run(t, tf, "apply", "-auto-approve", "-input=false", "-parallelism=50", "-var", "image=kind.local/hello:v2", fmt.Sprintf("-var=services=%d", count))
	checkScaleServices(t, clients, count, 2)
	run(t, tf, "plan", "-detailed-exitcode", "-input=false", "-parallelism=50", "-var", "image=kind.local/hello:v2", fmt.Sprintf("-var=services=%d", count))
	run(t, tf, "destroy", "-auto-approve", "-input=false", "-parallelism=50", "-var", "image=kind.local/hello:v2", fmt.Sprintf("-var=services=%d", count))
	// The destroy removed the runtime, its CRDs with it: no Service can remain.
	if err := checkRuntimeRemoved(clients)(nil); err != nil {
		t.Error(err)
	}
}

const scaleConfig = `
terraform {
  required_providers {
    knative = { source = "tf-knative/knative" }
  }
}

variable "image" { type = string }
variable "services" { type = number }
variable "serving_version" { type = string }

resource "knative_serving" "this" {
  version                = var.serving_version
  delete_knative_objects = true
}

resource "knative_service" "app" {
  count    = var.services
  name     = "scale-${count.index}"
  labels   = { app = "scale" }
  template = { containers = [{ image = var.image }] }

  depends_on = [knative_serving.this]
}
`

// terraformWorkdir is a directory with a configuration and the provider
// binary, built from this module, installed for terraform as a dev override.
func terraformCLI(t *testing.T, c *acctest.Cluster) *acctest.Terraform {
	t.Helper()
	dir := t.TempDir()
	plugins := filepath.Join(dir, "plugins")
	if out, err := exec.Command("go", "build", "-o", filepath.Join(plugins, "terraform-provider-knative"), "..").CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	// The same CLI configuration make demo uses.
	out, err := exec.Command("../internal/scripts/cli-config.sh", plugins).Output()
	if err != nil {
		t.Fatalf("writing the CLI configuration: %v", err)
	}
	rc := strings.TrimSpace(string(out))
	work := filepath.Join(dir, "config")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	provider := c.ProviderBlock()
	if err := os.WriteFile(filepath.Join(work, "main.tf"), []byte(provider+scaleConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	tf := acctest.NewTerraform(t, work, "TF_CLI_CONFIG_FILE="+rc, "TF_VAR_serving_version="+acctest.ServingVersion())
	t.Cleanup(func() {
		// Should a step fail, nothing stays behind.
		if _, err := os.Stat(filepath.Join(work, "terraform.tfstate")); err == nil {
			cmd := exec.Command(tf.Binary, "destroy", "-auto-approve", "-input=false", "-parallelism=50", "-var", "image=x", "-var", "services=0")
			cmd.Dir, cmd.Env = work, tf.Env
			_ = cmd.Run()
		}
	})
	return tf
}

// checkScaleServices: count Services labelled app=scale, each Ready for its
// current generation, which is the expected one, with its revision of that
// generation ready.
func checkScaleServices(t *testing.T, clients *kube.Clients, count int, generation int64) {
	t.Helper()
	services, err := clients.Dynamic.Resource(knativeServices).Namespace("default").List(context.Background(), metav1.ListOptions{LabelSelector: "app=scale"})
	if err != nil {
		t.Fatal(err)
	}
	list := services.Items
	if len(list) != count {
		t.Fatalf("%d Services labelled app=scale, want %d", len(list), count)
	}
	var wrong []string
	for i := range list {
		svc := &list[i]
		verdict := serving.Judge(svc, generation)
		revision, _, _ := unstructured.NestedString(svc.Object, "status", "latestReadyRevisionName")
		want := fmt.Sprintf("%s-%05d", svc.GetName(), generation)
		if svc.GetGeneration() != generation || verdict.State != serving.Ready || revision != want {
			wrong = append(wrong, fmt.Sprintf("%s (generation %d: %s; latest ready revision %q)", svc.GetName(), svc.GetGeneration(), verdict.Waiting, revision))
		}
	}
	if len(wrong) > 0 {
		if len(wrong) > 10 {
			wrong = append(wrong[:10], fmt.Sprintf("and %d more", len(wrong)-10))
		}
		t.Fatalf("%d of %d Services are not as applied: %s", len(wrong), count, strings.Join(wrong, "; "))
	}
}

// run runs a terraform command and logs how long it took.
func run(t *testing.T, tf *acctest.Terraform, args ...string) {
	t.Helper()
	t.Logf("terraform %s: %s", args[0], tf.Run(t, args...).Round(100*time.Millisecond))
}
