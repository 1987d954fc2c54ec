package provider_test

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	resourcequantity "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// Bad configurations, per resource type and for the provider block: each
// must fail at plan, naming the attribute and the rule. The tables run
// offline in their resources' tests and all together against a cluster in
// TestAccBadConfigurations, which checks that nothing was written.

// badConfig is a configuration a plan must refuse, with what it says.
type badConfig struct{ name, body, error string }

// badConfigSet is the bad configurations of one resource type (or of the
// provider block, when resource is empty).
type badConfigSet struct {
	resource string
	// render turns a case's body into the resource's block.
	render func(body string) string
	cases  []badConfig
}

// offlineProvider reaches no cluster: what fails with it fails before any
// cluster contact.
const offlineProvider = "provider \"knative\" {\n  host = \"https://127.0.0.1:1\"\n}\n"

// config is the whole configuration of a case, with provider as the provider
// block (the provider set's cases are provider blocks themselves).
func (s badConfigSet) config(provider, body string) string {
	if s.resource == "" {
		return "provider \"knative\" {\n  " + body + "\n}\n" + servingDataSource
	}
	return provider + s.render(body)
}

func (s badConfigSet) runOffline(t *testing.T) {
	for _, tc := range s.cases {
		t.Run(tc.name, func(t *testing.T) {
			resource.UnitTest(t, resource.TestCase{
				ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      s.config(offlineProvider, tc.body),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.error),
				}},
			})
		})
	}
}

// withLines turns cases whose at is set into ones whose error must also show
// the line of configuration at (a regular expression) for the resource.
func withLines(resourceType, name string, cases []struct{ name, body, error, at string }) []badConfig {
	out := make([]badConfig, 0, len(cases))
	for _, tc := range cases {
		expect := tc.error
		if tc.at != "" {
			summary, detail, _ := strings.Cut(strings.TrimPrefix(tc.error, "(?s)"), ".*")
			expect = `(?s)` + summary + `.*line \d+, in resource "` + resourceType + `" "` + name + `":\s+\d+:\s+` + tc.at + `.*` + detail
		}
		out = append(out, badConfig{tc.name, tc.body, expect})
	}
	return out
}

// dryRunRefusals pass every offline check and fail at plan only by the
// dry-run: the cluster's admission policies, a quota, and Knative's webhook
// judging with the cluster's configuration (config-defaults allows 100
// seconds at most; Knative's default allows 600).
var dryRunRefusals = []badConfig{
	{"a Service an admission policy refuses", `resource "knative_service" "unlabelled" {
  name     = "unlabelled"
  template = { containers = [{ image = "kind.local/app" }] }
}`, `(?s)The cluster refuses this Knative Service.*dry-run apply at plan time.*Knative\s+Services\s+need\s+a\s+team\s+label`},
	{"a Service beyond the namespace's quota", `resource "knative_service" "quota" {
  name      = "quota"
  namespace = "quota"
  labels    = { team = "web" }
  template  = { containers = [{ image = "kind.local/app" }] }
}`, `(?s)The cluster refuses this Knative Service.*exceeded\s+quota`},
	{"a timeout above the cluster's maximum", `resource "knative_service" "slow" {
  name     = "slow"
  labels   = { team = "web" }
  template = {
    timeout_seconds = 300
    containers      = [{ image = "kind.local/app" }]
  }
}`, `(?s)The cluster refuses this Knative Service.*line \d+, in resource "knative_service" "slow":\s+\d+:\s+template = \{.*template.timeout_seconds:.*validation\.webhook\.serving\.knative\.dev.*300`},
	{"a Route beyond the namespace's quota", `resource "knative_route" "quota" {
  name      = "quota"
  namespace = "quota"
  traffic   = [{ configuration_name = "hello", percent = 100 }]
}`, `(?s)The cluster refuses this Knative Route.*exceeded\s+quota`},
	{"a domain an admission policy refuses", `resource "knative_domain_mapping" "elsewhere" {
  name = "app.example.org"
  ref  = { name = "hello" }
}`, `(?s)The cluster refuses this Knative DomainMapping.*domains\s+end\s+in\s+example\.com`},
}

// TestAccBadConfigurations runs every bad configuration against a cluster
// with Knative Serving: the offline tables with plan_dry_run = false (so what
// refuses them is offline validation, which terraform validate runs too), and
// dryRunRefusals with the dry-run on (each also shown to pass without it). A
// watch on Knative's objects and config maps, from before the first to after
// the last plan, checks that none of them wrote anything.
func TestAccBadConfigurations(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	const defaults = `
resource "knative_serving_config" "defaults" {
  name       = "defaults"
  data       = { "revision-timeout-seconds" = "60", "max-revision-timeout-seconds" = "100" }
  depends_on = [knative_serving.this]
}
`
	base := configRuntime(c, defaults)
	withoutDryRun := strings.Replace(c.ProviderBlock(), "provider \"knative\" {\n", "provider \"knative\" {\n  plan_dry_run = false\n", 1)
	resources := strings.TrimPrefix(base, c.ProviderBlock())

	var writes *writeWatch
	steps := []resource.TestStep{{Config: base}}
	offline := 0
	for _, set := range []badConfigSet{badProviderSettings(testKubeconfig(t)), badServingArguments, badServingConfigValues,
		badServiceInputs, badRouteInputs, badDomainMappingInputs} {
		for _, tc := range set.cases {
			config := set.config(withoutDryRun, tc.body) + resources
			switch set.resource {
			case "":
				config = set.config("", tc.body) + resources
			case "knative_serving": // the case is the runtime of the state, changed
				config = set.config(withoutDryRun, tc.body) + defaults
			}
			steps = append(steps, resource.TestStep{Config: config, PlanOnly: true, ExpectError: regexp.MustCompile(tc.error)})
			offline++
		}
	}
	steps[1].PreConfig = func() {
		policedCluster(t, clients)
		writes = watchWrites(t, clients)
	}
	firstDryRun := len(steps)
	for _, tc := range dryRunRefusals {
		steps = append(steps,
			resource.TestStep{Config: withoutDryRun + resources + tc.body, PlanOnly: true, ExpectNonEmptyPlan: true},
			resource.TestStep{Config: base + tc.body, PlanOnly: true, ExpectError: regexp.MustCompile(tc.error)})
	}
	steps[firstDryRun].PreConfig = func() { quotaCounted(t, clients) }
	steps = append(steps, resource.TestStep{
		PreConfig: func() { writes.expectNone(t) },
		Config:    base, PlanOnly: true,
	})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps:                    steps,
	})
	t.Logf("%d bad configurations: %d refused offline (plan with plan_dry_run = false, as terraform validate), %d refused at plan by the dry-run only, 0 reached apply",
		offline+len(dryRunRefusals), offline, len(dryRunRefusals))
}

// policedCluster gives the cluster rules of its own: admission policies for
// Knative Services (a team label) and DomainMappings (under example.com),
// and a namespace whose quota allows no Knative Service or Route.
func policedCluster(t *testing.T, clients *kube.Clients) {
	t.Helper()
	teamLabelPolicy(t, clients)
	admissionPolicy(t, clients, "domains-under-example-com", domainMappings,
		"object.metadata.name.endsWith('.example.com')", "domains end in example.com",
		`{"apiVersion":"serving.knative.dev/v1beta1","kind":"DomainMapping","metadata":{"name":"probe.example.org","namespace":"default"},
		"spec":{"ref":{"apiVersion":"serving.knative.dev/v1","kind":"Service","name":"probe"}}}`)
	ctx := context.Background()
	namespace := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "quota"}}
	if _, err := clients.Kubernetes.CoreV1().Namespaces().Create(ctx, namespace, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	createQuota(t, clients)
	t.Cleanup(func() {
		_ = clients.Kubernetes.CoreV1().Namespaces().Delete(context.Background(), "quota", metav1.DeleteOptions{})
	})
}

func createQuota(t *testing.T, clients *kube.Clients) {
	t.Helper()
	quota := &corev1.ResourceQuota{
		ObjectMeta: metav1.ObjectMeta{Name: "no-knative", Namespace: "quota"},
		Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{
			"count/services.serving.knative.dev": resourcequantity.MustParse("0"),
			"count/routes.serving.knative.dev":   resourcequantity.MustParse("0"),
		}},
	}
	if _, err := clients.Kubernetes.CoreV1().ResourceQuotas("quota").Create(context.Background(), quota, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// quotaCounted waits until the quota controller counts Knative's kinds; until
// then admission says "status unknown" instead of "exceeded quota". The
// controller discovers new CRDs every 30 seconds but computes a quota's usage
// only when the quota is added or its hard limits change, or at its resync
// (5 minutes): a quota made before it watched Knative's kinds is made again.
func quotaCounted(t *testing.T, clients *kube.Clients) {
	t.Helper()
	ctx := context.Background()
	quotas := clients.Kubernetes.CoreV1().ResourceQuotas("quota")
	lastMade := time.Now()
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 4*time.Minute, true, func(ctx context.Context) (bool, error) {
		q, err := quotas.Get(ctx, "no-knative", metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		_, services := q.Status.Used["count/services.serving.knative.dev"]
		_, routes := q.Status.Used["count/routes.serving.knative.dev"]
		if services && routes {
			return true, nil
		}
		if time.Since(lastMade) > 20*time.Second {
			if err := quotas.Delete(ctx, "no-knative", metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return false, err
			}
			createQuota(t, clients)
			lastMade = time.Now()
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("the quota was never counted: %v", err)
	}
}

// writeWatch records every change to Knative's objects and config maps.
type writeWatch struct {
	mu      sync.Mutex
	changes []string
	stop    func()
}

func watchWrites(t *testing.T, clients *kube.Clients) *writeWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &writeWatch{stop: cancel}
	t.Cleanup(cancel)
	watched := []struct {
		gvr       schema.GroupVersionResource
		namespace string
	}{
		{knativeServices, ""},
		{schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "configurations"}, ""},
		{schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "revisions"}, ""},
		{schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "routes"}, ""},
		{domainMappings, ""},
		{clusterDomainClaims, ""},
		{schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, "knative-serving"},
	}
	for _, r := range watched {
		client := clients.Dynamic.Resource(r.gvr).Namespace(r.namespace)
		list, err := client.List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("listing %s: %v", r.gvr.Resource, err)
		}
		watcher, err := client.Watch(ctx, metav1.ListOptions{ResourceVersion: list.GetResourceVersion()})
		if err != nil {
			t.Fatalf("watching %s: %v", r.gvr.Resource, err)
		}
		go func() {
			defer watcher.Stop()
			for ev := range watcher.ResultChan() {
				obj, ok := ev.Object.(*unstructured.Unstructured)
				if !ok || ev.Type == watch.Bookmark {
					continue
				}
				w.mu.Lock()
				w.changes = append(w.changes, fmt.Sprintf("%s %s %s/%s", ev.Type, r.gvr.Resource, obj.GetNamespace(), obj.GetName()))
				w.mu.Unlock()
			}
		}()
	}
	return w
}

func (w *writeWatch) expectNone(t *testing.T) {
	t.Helper()
	time.Sleep(time.Second) // the last events in flight
	w.stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.changes) > 0 {
		t.Fatalf("plans that were refused wrote to the cluster: %s", strings.Join(w.changes, "; "))
	}
}
