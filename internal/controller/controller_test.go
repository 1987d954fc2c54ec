package controller_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	pcv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/controller"
	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// TestAccCrossplane drives every managed resource kind through the
// provider's controllers against the sandbox with Knative's own controller
// and webhook: the runtime is installed by a ServingRuntime, then config,
// Services, Routes and DomainMappings are created, observed, updated, drifted
// and deleted. The subtests build on each other and run in order.
func TestAccCrossplane(t *testing.T) {
	e := start(t)
	steps := []struct {
		name string
		run  func(*testing.T, *env)
	}{
		{"ServingRuntimeInstalls", testRuntimeInstalls},
		{"ServingConfigOwnsItsKeys", testServingConfig},
		{"ServiceLifecycle", testServiceLifecycle},
		{"ServiceBadSpecIsNeverWritten", testServiceBadSpec},
		{"ServiceFailingRevision", testServiceFailingRevision},
		{"ServiceObserveOnlyImport", testServiceObserveOnly},
		{"ServiceOrphaned", testServiceOrphaned},
		{"RouteToServiceReference", testRoute},
		{"DomainMappingClaimsItsDomain", testDomainMapping},
		{"TwoProviderConfigsTwoClusters", testTwoClusters},
		{"WatchesAtATenMinutePoll", testWatches},
		{"ServingRuntimeRemoval", testRuntimeRemoval},
	}
	for _, step := range steps {
		if !t.Run(step.name, func(t *testing.T) { step.run(t, e) }) {
			t.Fatalf("%s failed; the later steps depend on it", step.name)
		}
	}
}

const runtimeYAML = `
apiVersion: serving.knative.m.crossplane.io/v1alpha1
kind: ServingRuntime
metadata: {name: knative-serving}
spec:
  forProvider:
    version: %q
    deleteKnativeObjects: %v
`

// testRuntimeInstalls is refused Istio (not installed; nothing written),
// installs 1.22, is refused a downgrade and upgrades to 1.23.
func testRuntimeInstalls(t *testing.T, e *env) {
	rt := e.ApplyYAML(t, fmt.Sprintf(runtimeYAML, "1.22.1", false)+"    ingress: istio\n").(*servingv1alpha1.ServingRuntime)
	e.WaitCondition(t, rt, xpv2.TypeSynced, corev1.ConditionFalse, `ingress "istio" routes traffic through Istio`, time.Minute)
	if _, err := e.Clients.Kubernetes.CoreV1().Namespaces().Get(context.Background(), serving.Namespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("the refused install wrote the runtime's namespace (err %v)", err)
	}
	rt = e.ApplyYAML(t, fmt.Sprintf(runtimeYAML, "1.22.1", false)).(*servingv1alpha1.ServingRuntime)
	e.WaitCondition(t, rt, xpv2.TypeReady, corev1.ConditionTrue, "", 5*time.Minute)
	if got := rt.Status.AtProvider.InstalledVersion; got != "1.22.1" {
		t.Fatalf("installedVersion = %q, want 1.22.1", got)
	}
	e.ApplyYAML(t, fmt.Sprintf(runtimeYAML, "1.20.3", false))
	e.WaitCondition(t, rt, xpv2.TypeSynced, corev1.ConditionFalse, "downgrading to 1.20.3 is not supported", time.Minute)
	if rt.Status.AtProvider.InstalledVersion != "1.22.1" {
		t.Fatalf("a refused downgrade changed the installation to %q", rt.Status.AtProvider.InstalledVersion)
	}
	e.ApplyYAML(t, fmt.Sprintf(runtimeYAML, "1.23.0", false))
	acctest.Eventually(t, 5*time.Minute, "upgraded to 1.23.0 and Ready", func() (bool, string) {
		if err := e.Client.Get(context.Background(), client.ObjectKeyFromObject(rt), rt); err != nil {
			return false, err.Error()
		}
		ready := rt.GetCondition(xpv2.TypeReady)
		return rt.Status.AtProvider.InstalledVersion == "1.23.0" && ready.Status == corev1.ConditionTrue && len(rt.Status.AtProvider.Drift) == 0,
			fmt.Sprintf("installed %s, Ready %s %s, drift %v", rt.Status.AtProvider.InstalledVersion, ready.Status, ready.Message, rt.Status.AtProvider.Drift)
	})
	if rt.GetProviderConfigReference().Kind != "ClusterProviderConfig" {
		t.Fatalf("providerConfigRef defaulted to %+v, want the ClusterProviderConfig", rt.GetProviderConfigReference())
	}
	// Knative's webhook is serving: a Service reaches Ready below.
}

func testServingConfig(t *testing.T, e *env) {
	ctx := context.Background()
	autoscalerYAML := fmt.Sprintf(`
apiVersion: serving.knative.m.crossplane.io/v1alpha1
kind: ServingConfig
metadata: {name: autoscaler, namespace: %s}
spec:
  forProvider:
    name: autoscaler
    data: {max-scale: "10", enable-scale-to-zero: "false"}
`, appNamespace)
	cfg := e.ApplyYAML(t, autoscalerYAML).(*servingv1alpha1.ServingConfig)
	e.WaitCondition(t, cfg, xpv2.TypeReady, corev1.ConditionTrue, "", time.Minute)
	cms := e.Clients.Kubernetes.CoreV1().ConfigMaps(serving.Namespace)
	acctest.Eventually(t, time.Minute, "keys set", func() (bool, string) {
		cm, err := cms.Get(ctx, "config-autoscaler", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return cm.Data["max-scale"] == "10" && cm.Data["enable-scale-to-zero"] == "false", fmt.Sprint(cm.Data)
	})

	// An update of a value.
	e.ApplyYAML(t, strings.Replace(autoscalerYAML, `max-scale: "10"`, `max-scale: "20"`, 1))
	acctest.Eventually(t, time.Minute, "max-scale updated", func() (bool, string) {
		cm, err := cms.Get(ctx, "config-autoscaler", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return cm.Data["max-scale"] == "20", "max-scale = " + cm.Data["max-scale"]
	})
	e.ApplyYAML(t, autoscalerYAML)

	// Another writer changes a key this config owns (as kubectl edit does,
	// retried when the controller wrote in between): reverted on a poll.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, "config-autoscaler", metav1.GetOptions{})
		if err != nil {
			return err
		}
		cm.Data["max-scale"] = "99"
		cm.Data["scale-to-zero-grace-period"] = "45s" // someone else's key: left alone
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	acctest.Eventually(t, time.Minute, "max-scale reverted", func() (bool, string) {
		cm, err := cms.Get(ctx, "config-autoscaler", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return cm.Data["max-scale"] == "10", "max-scale = " + cm.Data["max-scale"]
	})

	// A value Knative's parser refuses is never written.
	bad := e.ApplyYAML(t, fmt.Sprintf(`
apiVersion: serving.knative.m.crossplane.io/v1alpha1
kind: ServingConfig
metadata: {name: gc, namespace: %s}
spec:
  forProvider:
    name: gc
    data: {max-non-active-revisions: "lots"}
`, appNamespace)).(*servingv1alpha1.ServingConfig)
	e.WaitCondition(t, bad, xpv2.TypeSynced, corev1.ConditionFalse, "Knative rejects these config-gc values", time.Minute)
	if gc, _ := cms.Get(ctx, "config-gc", metav1.GetOptions{}); gc.Data["max-non-active-revisions"] != "" {
		t.Fatalf("the refused value was written: %v", gc.Data)
	}
	e.DeleteAndWait(t, bad)

	// Deleting it removes only its keys.
	e.DeleteAndWait(t, cfg)
	cm, err := cms.Get(ctx, "config-autoscaler", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cm.Data["max-scale"]; ok {
		t.Fatalf("max-scale survived the ServingConfig: %v", cm.Data)
	}
	if cm.Data["scale-to-zero-grace-period"] != "45s" {
		t.Fatalf("another writer's key was removed: %v", cm.Data)
	}
}

func serviceYAML(name, image string, extra string) string {
	return fmt.Sprintf(`
apiVersion: serving.knative.m.crossplane.io/v1alpha1
kind: Service
metadata:
  name: %[1]s
  namespace: %[2]s
  labels: {app: %[1]s}
spec:
  providerConfigRef: {kind: ProviderConfig, name: target}
  writeConnectionSecretToRef: {name: %[1]s-connection}
%[3]s  forProvider:
    labels: {app: %[1]s}
    spec:
      template:
        spec:
          containers:
          - image: %[4]s
`, name, appNamespace, extra, image)
}

func testServiceLifecycle(t *testing.T, e *env) {
	ctx := context.Background()
	svc := e.ApplyYAML(t, serviceYAML("hello", "kind.local/hello:v1", "")).(*servingv1alpha1.Service)
	e.WaitCondition(t, svc, xpv2.TypeReady, corev1.ConditionTrue, "", 2*time.Minute)
	at := svc.Status.AtProvider
	if at.URL == nil || !strings.Contains(at.URL.String(), "hello."+appNamespace) || at.LatestReadyRevisionName != "hello-00001" {
		t.Fatalf("atProvider: url %v, latest ready %q", at.URL, at.LatestReadyRevisionName)
	}
	secret := &corev1.Secret{}
	if err := e.Client.Get(ctx, types.NamespacedName{Namespace: appNamespace, Name: "hello-connection"}, secret); err != nil {
		t.Fatalf("connection secret: %v", err)
	}
	if string(secret.Data["url"]) != at.URL.String() {
		t.Fatalf("connection secret url = %q, want %q", secret.Data["url"], at.URL)
	}

	// In sync: polls write nothing. (Knative's controller may still update
	// the status, so the resourceVersion is not the measure: the generation
	// and the provider's own managed fields entry are.)
	before := ownWrites(e.knativeService(t, "hello"))
	time.Sleep(8 * time.Second) // more than two polls
	if after := ownWrites(e.knativeService(t, "hello")); after != before {
		t.Fatalf("the Knative Service was written while in sync: %s -> %s", before, after)
	}

	// An update makes a new revision.
	svc = e.ApplyYAML(t, serviceYAML("hello", "kind.local/hello:v2", "")).(*servingv1alpha1.Service)
	acctest.Eventually(t, 2*time.Minute, "revision 2 ready", func() (bool, string) {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(svc), svc); err != nil {
			return false, err.Error()
		}
		return svc.Status.AtProvider.LatestReadyRevisionName == "hello-00002" && svc.GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue,
			svc.Status.AtProvider.LatestReadyRevisionName + " " + svc.GetCondition(xpv2.TypeReady).Message
	})

	// Another writer changes the image (drift) and adds an annotation (not
	// drift): the image is restored, the annotation stays.
	e.intrude(t, serving.ServicesGVR, "hello", map[string]any{"example.com/deployed-by": "ci"}, map[string]any{"template": map[string]any{
		"spec": map[string]any{"containers": []any{map[string]any{"image": "kind.local/hello:intruder"}}}}})
	acctest.Eventually(t, time.Minute, "image restored", func() (bool, string) {
		live := e.knativeService(t, "hello")
		containers, _, _ := unstructured.NestedSlice(live.Object, "spec", "template", "spec", "containers")
		image := containers[0].(map[string]any)["image"]
		return image == "kind.local/hello:v2" && live.GetAnnotations()["example.com/deployed-by"] == "ci", fmt.Sprintf("image %v, annotations %v", image, live.GetAnnotations())
	})
	e.WaitCondition(t, svc, xpv2.TypeReady, corev1.ConditionTrue, "", 2*time.Minute)
	// Kept for the Route and DomainMapping tests; deleted with the runtime.
}

func testServiceBadSpec(t *testing.T, e *env) {
	acctest.Extended(t, "TestServiceWritesRefused (fake cluster) and the Terraform bad-configuration tables")
	bad := e.ApplyYAML(t, fmt.Sprintf(`
apiVersion: serving.knative.m.crossplane.io/v1alpha1
kind: Service
metadata: {name: bad, namespace: %s}
spec:
  forProvider:
    spec:
      template:
        spec:
          containerConcurrency: -1
          containers:
          - image: kind.local/hello:v1
`, appNamespace)).(*servingv1alpha1.Service)
	e.WaitCondition(t, bad, xpv2.TypeSynced, corev1.ConditionFalse, "Knative's validation rejects this Knative Service: expected 0 <= -1 <= 1000: spec.template.spec.containerConcurrency", time.Minute)
	if live := e.knativeService(t, "bad"); live != nil {
		t.Fatal("a Service Knative's validation refuses was written")
	}
	e.DeleteAndWait(t, bad)
}

func testServiceFailingRevision(t *testing.T, e *env) {
	acctest.Extended(t, "TestServiceObserve (fake cluster); TestAccService_failingRevisionReportsKnativeReason fails a revision on Knative end to end")
	ctx := context.Background()
	// .invalid never resolves: Knative cannot resolve the tag to a digest.
	failing := e.ApplyYAML(t, serviceYAML("failing", "registry.example.invalid/hello:latest", "")).(*servingv1alpha1.Service)
	e.WaitCondition(t, failing, xpv2.TypeReady, corev1.ConditionFalse, `RevisionFailed: Revision "failing-00001" failed with message: Unable to fetch image "registry.example.invalid/hello:latest"`, 2*time.Minute)
	acctest.Eventually(t, time.Minute, "a KnativeNotReady event", func() (bool, string) {
		events := &corev1.EventList{}
		if err := e.Client.List(ctx, events, client.InNamespace(appNamespace)); err != nil {
			return false, err.Error()
		}
		for _, ev := range events.Items {
			if ev.InvolvedObject.Name == "failing" && ev.Reason == "KnativeNotReady" && strings.Contains(ev.Message, "Unable to fetch image") {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d events, none KnativeNotReady for failing", len(events.Items))
	})
	// Fixed forward: Ready.
	failing = e.ApplyYAML(t, serviceYAML("failing", "kind.local/hello:v1", "")).(*servingv1alpha1.Service)
	e.WaitCondition(t, failing, xpv2.TypeReady, corev1.ConditionTrue, "", 2*time.Minute)
	e.DeleteAndWait(t, failing)
	if e.knativeService(t, "failing") != nil {
		t.Fatal("the Knative Service outlived its managed resource")
	}
}

func testServiceObserveOnly(t *testing.T, e *env) {
	ctx := context.Background()
	existing := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Service",
		"metadata": map[string]any{"name": "existing", "namespace": appNamespace, "labels": map[string]any{"team": "a"}},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"image": "kind.local/existing:v1"}}}}},
	}}
	if _, err := e.Clients.Dynamic.Resource(serving.ServicesGVR).Namespace(appNamespace).Apply(ctx, "existing", existing,
		metav1.ApplyOptions{FieldManager: "someone-else"}); err != nil {
		t.Fatal(err)
	}
	imported := e.ApplyYAML(t, fmt.Sprintf(`
apiVersion: serving.knative.m.crossplane.io/v1alpha1
kind: Service
metadata:
  name: imported
  namespace: %s
  annotations: {crossplane.io/external-name: %s/existing}
spec:
  managementPolicies: [Observe, LateInitialize]
  forProvider: {}
`, appNamespace, appNamespace)).(*servingv1alpha1.Service)
	e.WaitCondition(t, imported, xpv2.TypeReady, corev1.ConditionTrue, "", 2*time.Minute)
	acctest.Eventually(t, time.Minute, "forProvider adopted", func() (bool, string) {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(imported), imported); err != nil {
			return false, err.Error()
		}
		p := imported.Spec.ForProvider
		if p.Spec == nil {
			return false, "forProvider.spec not adopted"
		}
		containers := p.Spec.Template.Spec.Containers
		return len(containers) == 1 && containers[0].Image == "kind.local/existing:v1" && containers[0].Name == "" && p.Labels["team"] == "a",
			fmt.Sprintf("forProvider %+v", p)
	})
	if imported.Status.AtProvider.URL == nil {
		t.Fatal("no url observed")
	}
	// Observe-only never deletes.
	e.DeleteAndWait(t, imported)
	if e.knativeService(t, "existing") == nil {
		t.Fatal("deleting an Observe-only managed resource deleted the Knative Service")
	}
}

func testServiceOrphaned(t *testing.T, e *env) {
	orphan := e.ApplyYAML(t, serviceYAML("orphan", "kind.local/hello:v1", "  managementPolicies: [Observe, Create, Update, LateInitialize]\n")).(*servingv1alpha1.Service)
	e.WaitCondition(t, orphan, xpv2.TypeReady, corev1.ConditionTrue, "", 2*time.Minute)
	e.DeleteAndWait(t, orphan)
	if e.knativeService(t, "orphan") == nil {
		t.Fatal("a managed resource without the Delete policy deleted its Knative Service")
	}
}

func testRoute(t *testing.T, e *env) {
	ctx := context.Background()
	routeYAML := fmt.Sprintf(`
apiVersion: serving.knative.m.crossplane.io/v1alpha1
kind: Route
metadata: {name: preview, namespace: %s}
spec:
  providerConfigRef: {kind: ProviderConfig, name: target}
  forProvider:
    configurationRef: {name: hello}
    spec:
      traffic:
      - {percent: 100, tag: current}
`, appNamespace)
	route := e.ApplyYAML(t, routeYAML).(*servingv1alpha1.Route)
	e.WaitCondition(t, route, xpv2.TypeReady, corev1.ConditionTrue, "", 2*time.Minute)
	if got := route.Spec.ForProvider.Spec.Traffic[0].ConfigurationName; got != "hello" {
		t.Fatalf("configurationRef resolved to %q, want hello", got)
	}
	latest, _, _ := unstructured.NestedString(e.knativeService(t, "hello").Object, "status", "latestReadyRevisionName")
	if traffic := route.Status.AtProvider.Traffic; len(traffic) != 1 || traffic[0].RevisionName != latest || traffic[0].URL == nil {
		t.Fatalf("traffic status %+v, want all to %s", traffic, latest)
	}

	// An update: the target's tag changes, and so does its URL.
	e.ApplyYAML(t, strings.Replace(routeYAML, "tag: current", "tag: next", 1))
	acctest.Eventually(t, 2*time.Minute, "the route's new tag", func() (bool, string) {
		if err := e.Client.Get(ctx, client.ObjectKeyFromObject(route), route); err != nil {
			return false, err.Error()
		}
		traffic := route.Status.AtProvider.Traffic
		return len(traffic) == 1 && traffic[0].Tag == "next" && route.GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue, fmt.Sprintf("%+v", traffic)
	})

	// Another writer retags the target: the managed resource's tag comes back.
	e.intrude(t, serving.RoutesGVR, "preview", nil, map[string]any{"traffic": []any{
		map[string]any{"configurationName": "hello", "percent": int64(100), "tag": "intruder"}}})
	acctest.Eventually(t, time.Minute, "the route's tag restored", func() (bool, string) {
		live, err := serving.Route.On(e.Clients).Get(ctx, appNamespace, "preview")
		if err != nil || live == nil {
			return false, fmt.Sprint(err)
		}
		traffic, _, _ := unstructured.NestedSlice(live.Object, "spec", "traffic")
		return len(traffic) == 1 && traffic[0].(map[string]any)["tag"] == "next", fmt.Sprint(traffic)
	})

	e.DeleteAndWait(t, route)
	if live, _ := serving.Route.On(e.Clients).Get(ctx, appNamespace, "preview"); live != nil {
		t.Fatal("the Route outlived its managed resource")
	}

	// A split Knative refuses (90 percent) is never written.
	bad := e.ApplyYAML(t, strings.Replace(strings.Replace(routeYAML, "name: preview", "name: bad-split", 1), "percent: 100", "percent: 90", 1)).(*servingv1alpha1.Route)
	e.WaitCondition(t, bad, xpv2.TypeSynced, corev1.ConditionFalse, "Knative's validation rejects this Knative Route: Traffic targets sum to 90, want 100", time.Minute)
	if live, _ := serving.Route.On(e.Clients).Get(ctx, appNamespace, "bad-split"); live != nil {
		t.Fatal("a Route Knative's validation refuses was written")
	}
	e.DeleteAndWait(t, bad)
}

// intrude server-side applies annotations (when given) and spec to the
// Knative object as another field manager that takes the fields over, as
// kubectl or a CI job might.
func (e *env) intrude(t *testing.T, gvr schema.GroupVersionResource, name string, annotations, spec map[string]any) {
	t.Helper()
	metadata := map[string]any{"name": name, "namespace": appNamespace}
	if annotations != nil {
		metadata["annotations"] = annotations
	}
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gvr.GroupVersion().String(), "kind": kinds[gvr.Resource], "metadata": metadata, "spec": spec,
	}}
	if _, err := e.Clients.Dynamic.Resource(gvr).Namespace(appNamespace).Apply(context.Background(), name, obj,
		metav1.ApplyOptions{FieldManager: "intruder", Force: true}); err != nil {
		t.Fatal(err)
	}
}

// testWatches runs the controllers as the provider does by default but with
// a 10-minute poll (and ready poll), so that only the target watches can make
// a Service Ready and revert drift within the test's patience; then it
// restarts them with the steps' quick polls.
func testWatches(t *testing.T, e *env) {
	slow := defaultOptions
	slow.PollInterval, slow.ReadyPoll = 10*time.Minute, 10*time.Minute
	e.restart(slow)
	defer e.restart(defaultOptions)

	svc := e.ApplyYAML(t, serviceYAML("watched", "kind.local/hello:v1", "")).(*servingv1alpha1.Service)
	// Knative's verdict arrives through the watch of the Knative Service.
	e.WaitCondition(t, svc, xpv2.TypeReady, corev1.ConditionTrue, "", 2*time.Minute)
	var took []time.Duration
	for i := range 5 {
		start := time.Now()
		e.intrude(t, serving.ServicesGVR, "watched", nil, map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"image": fmt.Sprintf("kind.local/hello:intruder-%d", i)}}}}})
		acctest.Eventually(t, 2*time.Minute, "the image restored by the watch", func() (bool, string) {
			live := e.knativeService(t, "watched")
			containers, _, _ := unstructured.NestedSlice(live.Object, "spec", "template", "spec", "containers")
			image := containers[0].(map[string]any)["image"]
			return image == "kind.local/hello:v1", fmt.Sprintf("image %v", image)
		})
		took = append(took, time.Since(start))
	}
	t.Logf("drift reverted by the watch in %v (10-minute poll)", took)
	// The deletion completes on the watch's event that the Knative Service is gone.
	e.DeleteAndWait(t, svc)
}

var kinds = map[string]string{"services": "Service", "routes": "Route", "domainmappings": "DomainMapping"}

func testDomainMapping(t *testing.T, e *env) {
	ctx := context.Background()
	claims := e.Clients.Dynamic.Resource(serving.ClusterDomainClaimsGVR)
	mapping := e.ApplyYAML(t, fmt.Sprintf(`
apiVersion: serving.knative.m.crossplane.io/v1alpha1
kind: DomainMapping
metadata: {name: hello.example.org, namespace: %s}
spec:
  providerConfigRef: {kind: ProviderConfig, name: target}
  forProvider:
    serviceSelector:
      matchLabels: {app: hello}
`, appNamespace)).(*servingv1alpha1.DomainMapping)
	e.WaitCondition(t, mapping, xpv2.TypeReady, corev1.ConditionTrue, "", 2*time.Minute)
	if spec := mapping.Spec.ForProvider.Spec; spec == nil || spec.Ref == nil || spec.Ref.Name != "hello" || spec.Ref.Kind != "Service" {
		t.Fatalf("serviceSelector resolved to %+v", spec)
	}
	claim, err := claims.Get(ctx, "hello.example.org", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the domain's claim: %v", err)
	}
	if ns, _, _ := unstructured.NestedString(claim.Object, "spec", "namespace"); ns != appNamespace {
		t.Fatalf("claimed for %q", ns)
	}

	// The claim deleted out of band: claimed again.
	if err := claims.Delete(ctx, "hello.example.org", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	acctest.Eventually(t, time.Minute, "the claim made again", func() (bool, string) {
		claim, err := claims.Get(ctx, "hello.example.org", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		ns, _, _ := unstructured.NestedString(claim.Object, "spec", "namespace")
		return ns == appNamespace, "claimed for " + ns
	})

	// Another writer points the domain elsewhere: it points at hello again.
	e.intrude(t, serving.DomainMappingsGVR, "hello.example.org", nil, map[string]any{
		"ref": map[string]any{"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "existing"}})
	acctest.Eventually(t, time.Minute, "the mapping's target restored", func() (bool, string) {
		live, err := serving.DomainMapping.On(e.Clients).Get(ctx, appNamespace, "hello.example.org")
		if err != nil || live == nil {
			return false, fmt.Sprint(err)
		}
		name, _, _ := unstructured.NestedString(live.Object, "spec", "ref", "name")
		return name == "hello", "ref.name " + name
	})
	e.DeleteAndWait(t, mapping)
	acctest.Eventually(t, time.Minute, "claim released", func() (bool, string) {
		_, err := claims.Get(ctx, "hello.example.org", metav1.GetOptions{})
		return apierrors.IsNotFound(err), fmt.Sprint(err)
	})

	// A domain inside the cluster-local domain is refused by Knative: never
	// written, and nothing claimed.
	bad := e.ApplyYAML(t, fmt.Sprintf(`
apiVersion: serving.knative.m.crossplane.io/v1alpha1
kind: DomainMapping
metadata: {name: hello.apps.svc.cluster.local, namespace: %s}
spec:
  providerConfigRef: {kind: ProviderConfig, name: target}
  forProvider:
    serviceRef: {name: hello}
`, appNamespace)).(*servingv1alpha1.DomainMapping)
	e.WaitCondition(t, bad, xpv2.TypeSynced, corev1.ConditionFalse, "Knative's validation rejects this Knative DomainMapping", time.Minute)
	if live, _ := serving.DomainMapping.On(e.Clients).Get(ctx, appNamespace, "hello.apps.svc.cluster.local"); live != nil {
		t.Fatal("a DomainMapping Knative's validation refuses was written")
	}
	if _, err := claims.Get(ctx, "hello.apps.svc.cluster.local", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a refused mapping claimed its domain: %v", err)
	}
	e.DeleteAndWait(t, bad)
}

func testRuntimeRemoval(t *testing.T, e *env) {
	hello := &servingv1alpha1.Service{}
	hello.SetName("hello")
	hello.SetNamespace(appNamespace)
	e.DeleteAndWait(t, hello)
	rt := &servingv1alpha1.ServingRuntime{}
	rt.SetName("knative-serving")
	if err := e.Client.Delete(context.Background(), rt); err != nil {
		t.Fatal(err)
	}
	// Knative Services nothing manages exist (existing, orphan): removal is refused, naming them.
	e.WaitCondition(t, rt, xpv2.TypeSynced, corev1.ConditionFalse, "deleteKnativeObjects", 2*time.Minute)
	if !strings.Contains(rt.GetCondition(xpv2.TypeSynced).Message, appNamespace+"/existing") {
		t.Fatalf("the refusal does not name the Services: %s", rt.GetCondition(xpv2.TypeSynced).Message)
	}
	e.ApplyYAML(t, fmt.Sprintf(runtimeYAML, "1.23.0", true))
	e.DeleteAndWait(t, rt)
	if e.knativeService(t, "existing") != nil {
		t.Fatal("a Knative Service survived the runtime's removal")
	}
}

// testTwoClusters reaches a second cluster through provider configs of its
// own: a ClusterProviderConfig for its runtime, a ProviderConfig for a
// Service. Each object lands on its own cluster only.
func testTwoClusters(t *testing.T, e *env) {
	second := secondCluster(t)
	e.KubeconfigSecret(t, "second-kubeconfig", second)
	e.ApplyYAML(t, fmt.Sprintf(`
apiVersion: knative.m.crossplane.io/v1alpha1
kind: ClusterProviderConfig
metadata: {name: second}
spec:
  credentials:
    source: Secret
    secretRef: {name: second-kubeconfig, namespace: %s, key: kubeconfig}
`, appNamespace))
	e.ApplyYAML(t, fmt.Sprintf(`
apiVersion: knative.m.crossplane.io/v1alpha1
kind: ProviderConfig
metadata: {name: second, namespace: %s}
spec:
  credentials:
    source: Secret
    secretRef: {name: second-kubeconfig, key: kubeconfig}
`, appNamespace))
	rt := e.ApplyYAML(t, `
apiVersion: serving.knative.m.crossplane.io/v1alpha1
kind: ServingRuntime
metadata: {name: second}
spec:
  providerConfigRef: {kind: ClusterProviderConfig, name: second}
  forProvider: {deleteKnativeObjects: true}
`).(*servingv1alpha1.ServingRuntime)
	e.WaitCondition(t, rt, xpv2.TypeReady, corev1.ConditionTrue, "", 5*time.Minute)
	ctx := context.Background()
	secondClients := second.Clients(t)
	if _, err := secondClients.Kubernetes.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: appNamespace}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc := e.ApplyYAML(t, strings.Replace(serviceYAML("elsewhere", "kind.local/hello:v1", ""), "name: target", "name: second", 1)).(*servingv1alpha1.Service)
	e.WaitCondition(t, svc, xpv2.TypeReady, corev1.ConditionTrue, "", 2*time.Minute)

	onSecond, err := serving.Service.On(secondClients).Get(ctx, appNamespace, "elsewhere")
	if err != nil || onSecond == nil {
		t.Fatalf("the Service is not on the second cluster: %v", err)
	}
	if e.knativeService(t, "elsewhere") != nil {
		t.Fatal("the Service landed on the first cluster too")
	}
	usages := &pcv1alpha1.ProviderConfigUsageList{}
	if err := e.Client.List(ctx, usages, client.InNamespace(appNamespace), client.MatchingLabels{xpv2.LabelKeyProviderName: "second"}); err != nil {
		t.Fatal(err)
	}
	if len(usages.Items) != 1 || usages.Items[0].ResourceReference.Name != "elsewhere" {
		t.Fatalf("usages of ProviderConfig second: %+v", usages.Items)
	}
	e.DeleteAndWait(t, svc)
	e.DeleteAndWait(t, rt)
}

// secondCluster is the sandbox "crossplane-b", or KNATIVE_TEST_SECOND_KUBECONFIG.
func secondCluster(t *testing.T) *acctest.Cluster {
	t.Helper()
	if path := os.Getenv("KNATIVE_TEST_SECOND_KUBECONFIG"); path != "" {
		return &acctest.Cluster{Kubeconfig: path}
	}
	if os.Getenv("KNATIVE_TEST_CROSSPLANE_KUBECONFIG") != "" {
		t.Skip("a second cluster is needed beside KNATIVE_TEST_CROSSPLANE_KUBECONFIG: set KNATIVE_TEST_SECOND_KUBECONFIG")
	}
	cluster := &acctest.Cluster{Kubeconfig: freshSandbox(t, secondSandbox, 10*time.Minute).Kubeconfig}
	t.Cleanup(func() {
		if err := sandbox.Down(context.Background(), sandbox.Options{Name: secondSandbox}); err != nil {
			t.Errorf("stopping the sandbox %q: %v", secondSandbox, err)
		}
	})
	return cluster
}

// ownWrites describes what the provider wrote to an object: its generation
// (bumped by any change of the spec) and the time of the provider's managed
// fields entry (bumped by any apply that changed something).
func ownWrites(obj *unstructured.Unstructured) string {
	for _, entry := range obj.GetManagedFields() {
		if entry.Manager == controller.FieldManager && entry.Time != nil {
			return fmt.Sprintf("generation %d, applied at %s", obj.GetGeneration(), entry.Time.UTC().Format(time.RFC3339))
		}
	}
	return fmt.Sprintf("generation %d, never applied by %s", obj.GetGeneration(), controller.FieldManager)
}
