package provider_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// teamLabelPolicy is an admission rule of the cluster's own that Knative's
// validation knows nothing of: Knative Services need a team label.
func teamLabelPolicy(t *testing.T, clients *kube.Clients) {
	t.Helper()
	admissionPolicy(t, clients, "knative-services-need-a-team", knativeServices,
		"has(object.metadata.labels) && 'team' in object.metadata.labels", "Knative Services need a team label",
		`{"apiVersion":"serving.knative.dev/v1","kind":"Service","metadata":{"name":"probe","namespace":"default"},
		"spec":{"template":{"spec":{"containers":[{"image":"kind.local/probe"}]}}}}`)
}

// admissionPolicy makes a ValidatingAdmissionPolicy, bound to deny, that
// refuses creates and updates of gvr failing expression with message, for the
// test's duration, and waits until probe (an object it refuses) is refused.
func admissionPolicy(t *testing.T, clients *kube.Clients, name string, gvr schema.GroupVersionResource, expression, message, probe string) {
	t.Helper()
	ctx := context.Background()
	policies := clients.Kubernetes.AdmissionregistrationV1()
	fail := admissionv1.Fail
	policy := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			FailurePolicy: &fail,
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{
					Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
					Rule:       admissionv1.Rule{APIGroups: []string{gvr.Group}, APIVersions: []string{gvr.Version}, Resources: []string{gvr.Resource}},
				},
			}}},
			Validations: []admissionv1.Validation{{Expression: expression, Message: message}},
		},
	}
	binding := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name, ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny}},
	}
	if _, err := policies.ValidatingAdmissionPolicies().Create(ctx, policy, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := policies.ValidatingAdmissionPolicyBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = policies.ValidatingAdmissionPolicyBindings().Delete(context.Background(), name, metav1.DeleteOptions{})
		_ = policies.ValidatingAdmissionPolicies().Delete(context.Background(), name, metav1.DeleteOptions{})
	})
	enforced(t, clients, gvr, probe, message)
}

// enforced waits until the API server applies a new admission policy: it
// loads policies asynchronously, so a dry-run create of obj, which the
// policy refuses, is refused with message.
func enforced(t *testing.T, clients *kube.Clients, gvr schema.GroupVersionResource, obj, message string) {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON([]byte(obj)); err != nil {
		t.Fatal(err)
	}
	var err error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		_, err = clients.Dynamic.Resource(gvr).Namespace(u.GetNamespace()).Create(context.Background(), u, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		if err != nil && strings.Contains(err.Error(), message) {
			return
		}
	}
	t.Fatalf("the admission policy (%q) is not enforced after a minute: a dry-run create says %v", message, err)
}

// TestAccPlanDryRun: a rule only the cluster knows (an admission policy) fails
// the plan, not the apply, and nothing is written; plan_dry_run = false
// leaves the verdict to the apply. The runtime is installed in the first step
// with its Service, as users do: the dry-run of a kind the cluster does not
// serve yet is skipped.
func TestAccPlanDryRun(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	const unlabelled = `  template = { containers = [{ image = "kind.local/hello:v1" }] }`
	labelled := "  labels = { team = \"web\" }\n" + unlabelled
	withoutDryRun := func(config string) string {
		return strings.Replace(config, "provider \"knative\" {\n", "provider \"knative\" {\n  plan_dry_run = false\n", 1)
	}
	other := func(labels string) string {
		return withService(c, labelled) + `
resource "knative_service" "other" {
  name       = "other"
  depends_on = [knative_serving.this]
` + labels + `  template   = { containers = [{ image = "kind.local/hello:v1" }] }
}
`
	}
	otherAbsent := func() {
		_, err := clients.Dynamic.Resource(knativeServices).Namespace("default").Get(context.Background(), "other", metav1.GetOptions{})
		if !apierrors.IsNotFound(err) {
			t.Fatalf("the Knative Service other exists after plans only (a dry-run persisted it?): %v", err)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{Config: withService(c, labelled)},
			{
				// The label removed under a policy that requires it: the plan fails with the policy's words.
				PreConfig:   func() { teamLabelPolicy(t, clients) },
				Config:      withService(c, unlabelled),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)The cluster refuses this Knative Service.*dry-run apply at plan time.*Knative\s+Services\s+need\s+a\s+team\s+label`),
			},
			{
				// Without the dry-run the plan cannot know; the apply refuses.
				Config:      withoutDryRun(withService(c, unlabelled)),
				ExpectError: regexp.MustCompile(`(?s)Applying the Knative Service failed.*Knative\s+Services\s+need\s+a\s+team\s+label`),
			},
			{Config: withService(c, labelled)},
			{
				// A new Service the policy accepts: the plan creates it, the dry-run persisted nothing.
				Config:             other("  labels = { team = \"api\" }\n"),
				PlanOnly:           true,
				ExpectNonEmptyPlan: true,
			},
			{
				// One it refuses: refused at plan.
				PreConfig:   otherAbsent,
				Config:      other(""),
				PlanOnly:    true,
				ExpectError: regexp.MustCompile(`(?s)The cluster refuses this Knative Service.*team\s+label`),
			},
		},
	})
}
