package serving

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"

	"github.com/tf-knative/terraform-provider-knative/internal/kube/kubetest"
	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

// The runtime's lifecycle (install, observe, upgrade, switch layers, remove)
// on a fake cluster whose control plane establishes CRDs, rolls Deployments
// out and injects the webhook's CA bundle. The acceptance tests do the same
// against Knative itself.

func installed(t *testing.T, spec Spec) (*kubetest.Cluster, *Installer, *[]string) {
	t.Helper()
	c := kubetest.New()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c.RunControlPlane(ctx)
	var progress []string
	in := &Installer{Clients: c.Clients, Progress: func(msg string) { progress = append(progress, msg) }}
	if err := in.Apply(quick(t, 30*time.Second), spec, nil, true); err != nil {
		t.Fatalf("install: %v", err)
	}
	return c, in, &progress
}

func defaultSpec() Spec {
	return Spec{Version: manifests.DefaultVersion, Ingress: manifests.DefaultIngress}
}

func TestInstallObserveRepair(t *testing.T) {
	spec := defaultSpec()
	c, in, progress := installed(t, spec)
	if !slices.ContainsFunc(*progress, func(p string) bool { return strings.HasPrefix(p, "waiting for Knative's webhook to serve") }) {
		t.Errorf("the install did not wait for the webhook: %q", *progress)
	}
	ctx := context.Background()
	obs, err := in.Observe(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	if !obs.Found || obs.Version != spec.Version || len(obs.Drift) > 0 || len(obs.Components) == 0 {
		t.Fatalf("Observe after install = found %v version %q drift %q components %d", obs.Found, obs.Version, obs.Drift, len(obs.Components))
	}
	for _, comp := range obs.Components {
		if !comp.Ready {
			t.Errorf("component %s/%s not ready: %s", comp.Namespace, comp.Name, comp.Message)
		}
	}
	// Out of band: an image changed, a Deployment scaled to nothing, a config map deleted.
	controller := c.Get(DeploymentsGVR, Namespace, "controller")
	containers, _, _ := unstructured.NestedSlice(controller.Object, "spec", "template", "spec", "containers")
	containers[0].(map[string]any)["image"] = "example.com/forked-controller"
	_ = unstructured.SetNestedSlice(controller.Object, containers, "spec", "template", "spec", "containers")
	c.Put(DeploymentsGVR, controller)
	if err := c.Dynamic.Tracker().Delete(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}, Namespace, "config-gc"); err != nil {
		t.Fatal(err)
	}
	obs, err = in.Observe(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	drift := strings.Join(obs.Drift, "\n")
	for _, want := range []string{"Deployment knative-serving/controller: spec.template.spec.containers[name=controller].image is \"example.com/forked-controller\"", "ConfigMap knative-serving/config-gc is missing"} {
		if !strings.Contains(drift, want) {
			t.Errorf("drift %q lacks %q", drift, want)
		}
	}
	// The next apply repairs both.
	if err := in.Apply(quick(t, 30*time.Second), spec, &spec, true); err != nil {
		t.Fatal(err)
	}
	if obs, err = in.Observe(ctx, spec); err != nil || len(obs.Drift) > 0 {
		t.Fatalf("after repair: drift %q, %v", obs.Drift, err)
	}
}

func TestObserveNothingInstalled(t *testing.T) {
	obs, err := (&Installer{Clients: kubetest.New().Clients}).Observe(context.Background(), defaultSpec())
	if err != nil || obs.Found {
		t.Fatalf("Observe = %+v, %v", obs, err)
	}
	c := kubetest.New()
	c.Fail("list", "deployments", apierrors.NewForbidden(DeploymentsGVR.GroupResource(), "", errors.New("RBAC")), nil)
	if _, err := (&Installer{Clients: c.Clients}).Observe(context.Background(), defaultSpec()); err == nil || !strings.Contains(err.Error(), "listing deployments") {
		t.Errorf("Observe = %v, want the list's error named", err)
	}
}

func TestWaitReadySaysWhatIsPending(t *testing.T) {
	c := kubetest.New() // no control plane: nothing becomes established
	in := &Installer{Clients: c.Clients}
	err := in.Apply(endedOnceWaiting(t, in, "CRDs to be established"), defaultSpec(), nil, true)
	if err == nil || !strings.Contains(err.Error(), "timed out waiting for CRDs to be established: CRD ") {
		t.Fatalf("Apply = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.RunControlPlane(ctx) // CRDs established: without waiting, Apply returns once all is written
	if err := in.Apply(quick(t, 10*time.Second), defaultSpec(), nil, false); err != nil {
		t.Fatalf("Apply without waiting = %v", err)
	}
}

func TestApplyNamesTheObjectARefusalIsAbout(t *testing.T) {
	c := kubetest.New()
	c.Fail("patch", "deployments", apierrors.NewForbidden(DeploymentsGVR.GroupResource(), "controller", errors.New("quota")), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.RunControlPlane(ctx)
	err := (&Installer{Clients: c.Clients}).Apply(quick(t, 10*time.Second), defaultSpec(), nil, true)
	if err == nil || !strings.Contains(err.Error(), "applying Deployment knative-serving/") {
		t.Fatalf("Apply = %v", err)
	}
}

func TestUpgradePrunesAndMigrates(t *testing.T) {
	versions := manifests.Versions()
	from := Spec{Version: versions[len(versions)-2], Ingress: manifests.DefaultIngress}
	to := Spec{Version: versions[len(versions)-1], Ingress: manifests.DefaultIngress}
	c, in, _ := installed(t, from)
	// An object only the old version shipped, as if it had one more.
	extra := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "config-retired", "namespace": Namespace, "labels": map[string]any{releaseLabel: releaseLabelValue}}}}
	if dropped := dropped([]*unstructured.Unstructured{extra}, nil); len(dropped) != 1 {
		t.Fatal("dropped keeps an object the new version lacks")
	}
	if err := in.Apply(quick(t, 30*time.Second), to, &from, true); err != nil {
		t.Fatal(err)
	}
	obs, err := in.Observe(context.Background(), to)
	if err != nil || obs.Version != to.Version || len(obs.Drift) > 0 {
		t.Fatalf("after the upgrade: version %q drift %q, %v", obs.Version, obs.Drift, err)
	}
	// The storage version migration ran on Knative's CRDs.
	migrated := false
	for _, a := range c.APIExtensions.Actions() {
		if a.GetVerb() == "patch" && a.GetSubresource() == "status" {
			migrated = true
		}
	}
	if !migrated {
		t.Error("no CRD's storedVersions were updated after the upgrade")
	}
}

func TestInstallRefusesMissingPrerequisites(t *testing.T) {
	c := kubetest.New()
	err := (&Installer{Clients: c.Clients}).Apply(context.Background(), Spec{Version: manifests.DefaultVersion, Ingress: "istio"}, nil, false)
	var missing *MissingPrerequisitesError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "Service istio-system/istio-ingressgateway") {
		t.Fatalf("Apply = %v", err)
	}
	if c.Writes() != 0 {
		t.Errorf("%d writes before the refusal", c.Writes())
	}
	if err := (&Installer{Clients: c.Clients}).CheckPrerequisites(context.Background(), Spec{Version: manifests.DefaultVersion, Ingress: "nginx"}); err == nil || !strings.Contains(err.Error(), `ingress "nginx" is not supported`) {
		t.Errorf("CheckPrerequisites = %v", err)
	}
}

func TestSwitchingLayersRetiresTheOldOne(t *testing.T) {
	from := defaultSpec()
	c, in, _ := installed(t, from)
	// What the layers need: Contour's CRDs and Services.
	for _, name := range Layers["contour"].CRDs {
		crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if _, err := c.APIExtensions.ApiextensionsV1().CustomResourceDefinitions().Create(context.Background(), crd, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	services, _, _ := Layers["contour"].gateways(nil)
	for _, key := range services {
		namespace, name, _ := strings.Cut(key, "/")
		if _, err := c.Kubernetes.CoreV1().Services(namespace).Create(context.Background(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A Route's KIngress, which Knative moves to the new class once config-network names it.
	ingress := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "networking.internal.knative.dev/v1alpha1", "kind": "Ingress",
		"metadata": map[string]any{"name": "hello", "namespace": "default", "generation": int64(1),
			"annotations": map[string]any{"networking.knative.dev/ingress.class": IngressClass(from.Ingress)}}}}
	c.Put(ingressesGVR, ingress)
	moving, moved := context.WithCancel(context.Background())
	defer moved()
	go func() {
		for moving.Err() == nil {
			time.Sleep(20 * time.Millisecond)
			if cm, err := c.Kubernetes.CoreV1().ConfigMaps(Namespace).Get(context.Background(), "config-network", metav1.GetOptions{}); err == nil && cm.Data["ingress-class"] == IngressClass("contour") {
				moved := ingress.DeepCopy()
				moved.SetAnnotations(map[string]string{"networking.knative.dev/ingress.class": IngressClass("contour")})
				moved.Object["status"] = map[string]any{"observedGeneration": int64(1), "conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}
				c.Put(ingressesGVR, moved)
				return
			}
		}
	}()
	to := Spec{Version: from.Version, Ingress: "contour"}
	if err := in.Apply(quick(t, 30*time.Second), to, &from, true); err != nil {
		t.Fatal(err)
	}
	obs, err := in.Observe(context.Background(), to)
	if err != nil || len(obs.Drift) > 0 {
		t.Fatalf("after the switch: drift %q, %v", obs.Drift, err)
	}
	if c.Get(DeploymentsGVR, "kourier-system", "3scale-kourier-gateway") != nil {
		t.Error("Kourier's gateway is still there after the switch")
	}
	// Detect reads the layer back.
	got, err := Detect(context.Background(), c.Clients)
	if err != nil || !got.Installed || got.Ingress != "contour" || got.Version != to.Version {
		t.Errorf("Detect = %+v, %v", got, err)
	}
}

func TestRemove(t *testing.T) {
	spec := defaultSpec()
	c, in, _ := installed(t, spec)
	ctx := context.Background()
	c.Put(ServicesGVR, ksvc("hello", "a"))
	route := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "serving.knative.dev/v1", "kind": "Route", "metadata": map[string]any{"name": "hello", "namespace": "default"}}}
	route.SetOwnerReferences([]metav1.OwnerReference{{Kind: "Service", Name: "hello"}})
	c.Put(RoutesGVR, route)

	err := in.Remove(ctx, spec, false)
	var workloads *ErrWorkloadsExist
	if !errors.As(err, &workloads) || !slices.Equal(workloads.Objects, []string{"Service default/hello"}) {
		t.Fatalf("Remove = %v, want a refusal naming the Service (not its Route)", err)
	}
	if c.Get(DeploymentsGVR, Namespace, "controller") == nil {
		t.Fatal("the refusal deleted the runtime")
	}
	go func() { // Knative's controller and the garbage collector take the Service's Route
		time.Sleep(100 * time.Millisecond)
		_ = c.Dynamic.Tracker().Delete(RoutesGVR, "default", "hello")
	}()
	if err := in.Remove(quick(t, 30*time.Second), spec, true); err != nil {
		t.Fatal(err)
	}
	if obs, err := in.Observe(ctx, spec); err != nil || obs.Found {
		t.Fatalf("after Remove: found %v, %v", obs.Found, err)
	}
	// The webhook configurations went first: they would block deletes once the webhook is gone.
	var order []string
	for _, a := range c.Dynamic.Actions() {
		if d, ok := a.(clienttesting.DeleteAction); ok {
			order = append(order, d.GetResource().Resource)
		}
	}
	if first := slices.Index(order, "validatingwebhookconfigurations"); first < 0 || first > slices.Index(order, "deployments") || slices.Index(order, "customresourcedefinitions") < slices.Index(order, "deployments") {
		t.Errorf("deletion order %v: webhook configurations first, CRDs last", order)
	}
}

func TestRemoveSaysWhatIsLeft(t *testing.T) {
	spec := defaultSpec()
	c, in, _ := installed(t, spec)
	c.Fail("delete", "deployments", nil, nil) // the delete is accepted, nothing goes
	err := in.Remove(endedOnceWaiting(t, in, "waiting until the runtime's objects are gone"), spec, false)
	if err == nil || !strings.Contains(err.Error(), "the runtime is partly removed; still present: Deployment knative-serving/") {
		t.Fatalf("Remove = %v", err)
	}

	// The context ends during a read of what is left: the error names what
	// the read before found, not the interrupted read's error.
	ctx, arm := interruptedRead(t, c, "list", "deployments")
	onProgress(in, "waiting until", arm)
	err = in.Remove(ctx, spec, false)
	if err == nil || !strings.Contains(err.Error(), "still present: Deployment knative-serving/") || strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("Remove interrupted during a read = %v", err)
	}
	ws := &ErrWorkloadsExist{Objects: make([]string, 25)}
	if !strings.Contains(ws.Error(), "... and 5 more") || strings.Contains(ws.Error(), "delete_knative_objects") || strings.Contains(ws.Error(), "deleteKnativeObjects") {
		t.Errorf("ErrWorkloadsExist = %q", ws.Error())
	}
}

// Revisions (and the Services' Routes) must be gone before the CRDs, or the
// garbage collector orphans their dependents: a read that fails is not "none
// left", and a wait that times out says what it last saw.
func TestRemoveWaitsForWhatItDeleted(t *testing.T) {
	spec := defaultSpec()
	c, in, _ := installed(t, spec)
	revision := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
		"metadata": map[string]any{"name": "hello-00001", "namespace": "default"}}}
	c.Put(ServicesGVR, ksvc("hello", "a"))
	c.Put(RevisionsGVR, revision) // the garbage collector has yet to take it

	ctx, arm := interruptedRead(t, c, "list", "revisions")
	onProgress(in, "before the runtime", arm)
	err := in.Remove(ctx, spec, true)
	if err == nil || !strings.Contains(err.Error(), "Knative objects are still being deleted (") || !strings.Contains(err.Error(), "1 revisions): context canceled") {
		t.Fatalf("Remove interrupted during a read = %v", err)
	}

	c.Fail("list", "revisions", apierrors.NewServiceUnavailable("etcd leader changed"), nil)
	c.Put(ServicesGVR, ksvc("hello", "a"))
	err = in.Remove(endedOnceWaiting(t, in, "before the runtime"), spec, true)
	if err == nil || !strings.Contains(err.Error(), "waiting until Knative objects are deleted before the runtime: listing Knative revisions: etcd leader changed") {
		t.Fatalf("Remove with revisions unreadable = %v", err)
	}
	if c.Get(DeploymentsGVR, Namespace, "controller") == nil {
		t.Fatal("the runtime was removed while its revisions could not be read")
	}
}

// The webhook's first admission is proven by a dry-run; when the wait for it
// gives up, it says what the webhook last answered.
func TestWebhookProbeSaysWhatTheWebhookAnswered(t *testing.T) {
	spec := defaultSpec()
	c, in, _ := installed(t, spec)
	dryRun := func(a clienttesting.Action) bool {
		p, ok := a.(clienttesting.PatchActionImpl)
		return ok && slices.Contains(p.GetPatchOptions().DryRun, metav1.DryRunAll)
	}
	c.Fail("patch", "configmaps", apierrors.NewInternalError(errors.New(`failed calling webhook "config.webhook.serving.knative.dev": x509: certificate signed by unknown authority`)), dryRun)
	ctx, arm := interruptedRead(t, c, "patch", "configmaps")
	onProgress(in, "waiting for Knative's webhook to serve", arm)
	err := in.Apply(ctx, spec, nil, true)
	if err == nil || !strings.Contains(err.Error(), "Knative's webhook does not serve admission requests") || !strings.Contains(err.Error(), "x509: certificate signed by unknown authority") {
		t.Fatalf("Apply interrupted during the webhook's probe = %v", err)
	}
}

// An install after a removal that is still deleting the namespace or CRDs
// waits until they are gone, and says which when it gives up.
func TestApplyWaitsForAnEarlierRemoval(t *testing.T) {
	spec := defaultSpec()
	c, in, _ := installed(t, spec)
	namespaces := schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	c.Put(namespaces, deleting(c.Get(namespaces, "", Namespace)))

	ctx, arm := interruptedRead(t, c, "list", "namespaces")
	onProgress(in, "an earlier removal is deleting", arm)
	err := in.Apply(ctx, spec, nil, true)
	if err == nil || !strings.Contains(err.Error(), "objects an earlier removal is deleting are still there (Namespace knative-serving)") {
		t.Fatalf("Apply interrupted during a read = %v", err)
	}

	// Once they are gone, the install goes on.
	c, in, _ = installed(t, spec)
	c.Put(namespaces, deleting(c.Get(namespaces, "", Namespace)))
	var waited []string
	in.Progress = func(msg string) {
		if strings.Contains(msg, "an earlier removal") {
			waited = append(waited, msg)
			time.AfterFunc(100*time.Millisecond, func() { // the namespace controller finishes
				_ = c.Dynamic.Tracker().Delete(namespaces, "", Namespace)
			})
		}
	}
	if err := in.Apply(quick(t, 30*time.Second), spec, nil, true); err != nil {
		t.Fatalf("Apply after the removal finished = %v", err)
	}
	if !slices.Equal(waited, []string{"waiting for 1 objects an earlier removal is deleting: Namespace knative-serving"}) {
		t.Errorf("progress %q does not say what it waited for", waited)
	}
	if ns := c.Get(namespaces, "", Namespace); ns == nil || ns.GetDeletionTimestamp() != nil {
		t.Error("the namespace was not created again")
	}
}

func TestClaims(t *testing.T) {
	ctx := context.Background()
	c := kubetest.New()
	claims := Claims{Clients: c.Clients}
	if err := claims.Claim(ctx, "hello.example.org", "default"); err != nil {
		t.Fatal(err)
	}
	if err := claims.Claim(ctx, "hello.example.org", "default"); err != nil {
		t.Fatalf("claiming again: %v", err)
	}
	if err := claims.Claim(ctx, "hello.example.org", "other"); err == nil || !strings.Contains(err.Error(), `claimed by namespace "default"`) {
		t.Fatalf("Claim from another namespace = %v", err)
	}
	for ns, want := range map[string]bool{"default": true, "other": false} {
		if got, err := claims.Claimed(ctx, "hello.example.org", ns); err != nil || got != want {
			t.Errorf("Claimed(%s) = %v, %v", ns, got, err)
		}
	}
	if got, err := claims.Claimed(ctx, "nobody.example.org", "default"); err != nil || got {
		t.Errorf("Claimed of no claim = %v, %v", got, err)
	}
	// Someone else's claim stays.
	foreign := &unstructured.Unstructured{Object: map[string]any{"apiVersion": ClusterDomainClaimsGVR.GroupVersion().String(), "kind": "ClusterDomainClaim",
		"metadata": map[string]any{"name": "theirs.example.org"}, "spec": map[string]any{"namespace": "default"}}}
	c.Put(ClusterDomainClaimsGVR, foreign)
	if err := claims.Unclaim(ctx, "theirs.example.org", "default"); err != nil || c.Get(ClusterDomainClaimsGVR, "", "theirs.example.org") == nil {
		t.Errorf("Unclaim of a foreign claim = %v; it must stay", err)
	}
	if err := claims.Unclaim(ctx, "hello.example.org", "default"); err != nil || c.Get(ClusterDomainClaimsGVR, "", "hello.example.org") != nil {
		t.Errorf("Unclaim = %v; the claim must go", err)
	}
	if err := claims.Unclaim(ctx, "hello.example.org", "default"); err != nil {
		t.Errorf("Unclaim of a missing claim = %v", err)
	}
	c.Fail("get", "clusterdomainclaims", apierrors.NewServiceUnavailable("down"), nil)
	if _, err := claims.Claimed(ctx, "hello.example.org", "default"); !apierrors.IsServiceUnavailable(err) {
		t.Errorf("Claimed = %v", err)
	}
}

func TestRevisionsOldestFirst(t *testing.T) {
	rev := func(name, generation string) *unstructured.Unstructured {
		return &unstructured.Unstructured{Object: map[string]any{"apiVersion": "serving.knative.dev/v1", "kind": "Revision", "metadata": map[string]any{
			"name": name, "namespace": "default", "labels": map[string]any{"serving.knative.dev/service": "hello", "serving.knative.dev/configurationGeneration": generation}}}}
	}
	c := kubetest.New(rev("hello-00010", "10"), rev("hello-00002", "2"), rev("other-00001", "1"))
	c.Put(RevisionsGVR, func() *unstructured.Unstructured {
		r := rev("other-00001", "1")
		r.SetLabels(map[string]string{"serving.knative.dev/service": "other"})
		return r
	}())
	got, err := Revisions(context.Background(), c.Clients, "default", "hello")
	if err != nil || len(got) != 2 || got[0].GetName() != "hello-00002" || got[1].GetName() != "hello-00010" {
		t.Fatalf("Revisions = %v, %v", got, err)
	}
}

// After an interrupted install the webhook's configurations can be there
// without its Service: the API server refuses what the webhook admits until
// the Service is written in the same apply.
func TestApplyWaitsForTheWebhookItWrites(t *testing.T) {
	c := kubetest.New()
	services := schema.GroupVersionResource{Version: "v1", Resource: "services"}
	// Refused at least once (the applies run in parallel, so the Service may
	// be written first), then until the Service exists.
	attempts := 0
	noWebhook := func(clienttesting.Action) bool {
		attempts++
		return attempts == 1 || c.Get(services, Namespace, "webhook") == nil
	}
	c.Fail("patch", "certificates", apierrors.NewInternalError(errors.New(`failed calling webhook "webhook.serving.knative.dev": service "webhook" not found`)), noWebhook)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.RunControlPlane(ctx)
	var progress []string
	in := &Installer{Clients: c.Clients, Progress: func(msg string) { progress = append(progress, msg) }}
	if err := in.Apply(quick(t, 30*time.Second), defaultSpec(), nil, false); err != nil {
		t.Fatalf("Apply = %v", err)
	}
	if c.Get(schema.GroupVersionResource{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "certificates"}, Namespace, "routing-serving-certs") == nil {
		t.Error("the Certificate the webhook refused at first was not applied")
	}
	if !slices.Contains(progress, "waiting for Knative's webhook to admit 1 objects") {
		t.Errorf("progress %q does not say it waited for the webhook", progress)
	}

	// Once the webhook answers, its verdict fails the apply at once.
	c2 := kubetest.New()
	c2.Fail("patch", "certificates", apierrors.NewBadRequest(`admission webhook "validation.webhook.serving.knative.dev" denied the request`), nil)
	calls := 0 // the first apply finds the webhook unreachable (the later Fail is asked first)
	c2.Fail("patch", "certificates", apierrors.NewInternalError(errors.New(`failed calling webhook "webhook.serving.knative.dev": connection refused`)),
		func(clienttesting.Action) bool { calls++; return calls == 1 })
	c2.RunControlPlane(ctx)
	start := time.Now()
	err := (&Installer{Clients: c2.Clients}).Apply(quick(t, 30*time.Second), defaultSpec(), nil, false)
	if err == nil || !strings.Contains(err.Error(), "denied the request") || time.Since(start) > 10*time.Second {
		t.Fatalf("Apply with the webhook refusing after %s = %v", time.Since(start), err)
	}

	// A webhook that stays unreachable fails the apply with Knative's explanation.
	c.Fail("patch", "certificates", apierrors.NewInternalError(errors.New(`failed calling webhook "webhook.serving.knative.dev": connection refused`)), nil)
	err = in.Apply(endedOnceWaiting(t, in, "waiting for Knative's webhook"), defaultSpec(), nil, false)
	if err == nil || !strings.Contains(err.Error(), "Knative's webhook cannot be reached") || !strings.Contains(err.Error(), "applying Certificate knative-serving/routing-serving-certs") {
		t.Fatalf("Apply with the webhook down = %v", err)
	}
}

// The runtime's namespaces are deleted only once its Deployments are gone
// with their pods (a foreground deletion): a namespace deleted while pods
// still terminate is looked at again only after their grace period, 600 s
// for the activator, however soon they exit.
func TestRemoveDeletesNamespacesOncePodsAreGone(t *testing.T) {
	spec := defaultSpec()
	c, in, _ := installed(t, spec)
	if err := in.Remove(quick(t, 30*time.Second), spec, true); err != nil {
		t.Fatal(err)
	}
	lastDeployment, firstNamespace := -1, -1
	for i, a := range c.Dynamic.Actions() {
		d, ok := a.(clienttesting.DeleteAction)
		if !ok {
			continue
		}
		switch d.GetResource().Resource {
		case "deployments":
			lastDeployment = i
			if p := d.GetDeleteOptions().PropagationPolicy; p == nil || *p != metav1.DeletePropagationForeground {
				t.Errorf("Deployment %s deleted without Foreground propagation (gone once its pods are)", d.GetName())
			}
		case "namespaces":
			if firstNamespace < 0 {
				firstNamespace = i
			}
		}
	}
	if lastDeployment < 0 || firstNamespace < 0 || firstNamespace < lastDeployment {
		t.Errorf("the first namespace deleted at action %d, the last Deployment at %d: namespaces go after the Deployments", firstNamespace, lastDeployment)
	}
}
