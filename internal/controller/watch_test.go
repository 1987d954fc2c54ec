package controller

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/kube/kubetest"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// receive waits for the next reconcile a watch sends, or fails.
func receive(t *testing.T, events <-chan event.GenericEvent, what string) types.NamespacedName {
	t.Helper()
	select {
	case e := <-events:
		return types.NamespacedName{Namespace: e.Object.GetNamespace(), Name: e.Object.GetName()}
	case <-time.After(5 * time.Second):
		t.Fatalf("no reconcile after %s", what)
	}
	return types.NamespacedName{}
}

// quiet fails if a watch sends a reconcile within a moment.
func quiet(t *testing.T, events <-chan event.GenericEvent, what string) {
	t.Helper()
	select {
	case e := <-events:
		t.Fatalf("a reconcile of %s/%s after %s", e.Object.GetNamespace(), e.Object.GetName(), what)
	case <-time.After(200 * time.Millisecond):
	}
}

// watchedCluster is a fake target cluster holding live, and a Service
// external client whose Observes start the watches there, which send their
// reconciles to events.
func watchedCluster(live *unstructured.Unstructured) (*kubetest.Cluster, *targetWatches, chan event.GenericEvent, *objectExternal[*servingv1alpha1.Service]) {
	c := kubetest.New()
	c.Put(serving.ServicesGVR, live)
	watches := newTargetWatches(logging.NewNopLogger(), time.Hour)
	events := make(chan event.GenericEvent, 16)
	e, _ := serviceExternal(c)
	e.watches, e.events = watches, events
	return c, watches, events, e
}

// A change of a managed Knative object on the target cluster reconciles the
// managed resource that manages it, through one informer per cluster and
// kind, which stops with the last managed resource.
func TestTargetWatches(t *testing.T) {
	c, watches, events, e := watchedCluster(knativeService("example.com/app-a", 1, 1, "True", "", ""))
	mg := serviceMR("example.com/app-a")

	if _, err := e.Observe(context.Background(), mg); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, events, "the informer listed the Service"); got != (types.NamespacedName{Namespace: "apps", Name: "hello"}) {
		t.Fatalf("reconcile of %v, want apps/hello", got)
	}
	// A second managed resource of the same cluster and kind shares the informer.
	other := serviceMR("example.com/app-a")
	other.Name = "other"
	if _, err := e.Observe(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if watches.informers() != 1 {
		t.Fatalf("%d informers for one cluster and kind", watches.informers())
	}
	// Out of band: the image changed, then Knative's verdict.
	live := c.Get(serving.ServicesGVR, "apps", "hello")
	_ = unstructured.SetNestedSlice(live.Object, []any{map[string]any{"image": "example.com/app-b"}}, "spec", "template", "spec", "containers")
	c.Put(serving.ServicesGVR, live)
	if got := receive(t, events, "the image was changed out of band"); got.Name != "hello" {
		t.Fatalf("reconcile of %v, want hello", got)
	}
	quiet(t, events, "one change")
	// An object nobody manages changes: nothing to reconcile.
	stranger := knativeService("example.com/app-a", 1, 1, "True", "", "")
	stranger.SetName("stranger")
	c.Put(serving.ServicesGVR, stranger)
	quiet(t, events, "a change of an object no managed resource manages")

	// A deleted managed resource keeps the watch until its object is gone:
	// that event completes the deletion.
	if _, err := e.Observe(context.Background(), deletingMR(mg)); err != nil {
		t.Fatal(err)
	}
	if err := c.Dynamic.Tracker().Delete(serving.ServicesGVR, "apps", "hello"); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, events, "the Knative Service of a deleted managed resource was deleted"); got.Name != "hello" && got.Name != "other" {
		t.Fatalf("reconcile of %v", got)
	}
	for len(events) > 0 {
		<-events
	}
	// Once observed gone, deleted managed resources release the watch; the
	// last stops the informer.
	if _, err := e.Observe(context.Background(), deletingMR(mg)); err != nil {
		t.Fatal(err)
	}
	if watches.informers() != 1 {
		t.Fatal("the informer stopped while a managed resource still needs it")
	}
	if _, err := e.Observe(context.Background(), deletingMR(other)); err != nil {
		t.Fatal(err)
	}
	if watches.informers() != 0 {
		t.Fatal("the informer outlived its last managed resource")
	}
	c.Put(serving.ServicesGVR, knativeService("example.com/app-a", 1, 1, "True", "", ""))
	quiet(t, events, "the last managed resource was deleted")

	// A managed resource no longer observed (deleted with an Orphan policy)
	// is released after the ttl.
	if _, err := e.Observe(context.Background(), serviceMR("example.com/app-a")); err != nil {
		t.Fatal(err)
	}
	watches.prune(time.Now().Add(30 * time.Minute))
	if watches.informers() != 1 {
		t.Fatal("a managed resource observed within the ttl was released")
	}
	watches.prune(time.Now().Add(2 * time.Hour))
	if watches.informers() != 0 {
		t.Fatal("a managed resource not observed for longer than the ttl keeps its informer")
	}
}

// A managed resource whose object a working watch sees gets Knative's
// verdict by the watch and is not ready-polled; one whose object no watch
// sees (an Observe-only import), or whose watch fails, is.
func TestWhatTheWatchesSee(t *testing.T) {
	ctx := context.Background()
	c, watches, events, e := watchedCluster(knativeService("example.com/app-a", 1, 0, "Unknown", "", ""))
	imported := knativeService("example.com/app-a", 1, 1, "True", "", "")
	imported.SetName("imported")
	imported.SetLabels(nil) // written by someone else
	c.Put(serving.ServicesGVR, imported)
	mg := serviceMR("example.com/app-a")
	m := manager{events: events, NamespacedName: types.NamespacedName{Namespace: "apps", Name: "hello"}}
	if watches.seen(m, time.Now()) {
		t.Fatal("seen before it was observed")
	}
	if _, err := e.Observe(ctx, mg); err != nil {
		t.Fatal(err)
	}
	seenWithin(t, watches, m, true, "the informer listed the Service")

	// Observe-only: the object lacks the label the watch selects.
	imp := serviceMR("")
	imp.Name = "imported"
	if _, err := e.Observe(ctx, imp); err != nil {
		t.Fatal(err)
	}
	if watches.seen(manager{events: events, NamespacedName: types.NamespacedName{Namespace: "apps", Name: "imported"}}, time.Now()) {
		t.Error("an Observe-only import's object counts as seen by the watch")
	}

	// A cluster whose watches fail (the informer lists, then every watch is
	// refused): not trusted until a minute passes without a failure.
	broken := kubetest.New()
	broken.Put(serving.ServicesGVR, knativeService("example.com/app-a", 1, 0, "Unknown", "", ""))
	broken.Dynamic.PrependWatchReactor("services", func(clienttesting.Action) (bool, watch.Interface, error) {
		return true, nil, errors.New("watch refused")
	})
	other := make(chan event.GenericEvent, 16)
	eb, _ := serviceExternal(broken)
	eb.watches, eb.events = watches, other
	if _, err := eb.Observe(ctx, serviceMR("example.com/app-a")); err != nil {
		t.Fatal(err)
	}
	mb := manager{events: other, NamespacedName: m.NamespacedName}
	watches.mu.Lock()
	tw := watches.running[eb.objectWatch()]
	watches.mu.Unlock()
	for deadline := time.Now().Add(5 * time.Second); !tw.synced() || tw.broke.Load() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the refused watch was not reported")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if watches.seen(mb, time.Now()) {
		t.Error("a managed resource whose watch fails counts as seen")
	}
	if !watches.seen(mb, time.Now().Add(watchRecovery+time.Second)) {
		t.Error("a watch without a failure for watchRecovery is not trusted again")
	}

	// Released once deleted and its object gone.
	if err := c.Dynamic.Tracker().Delete(serving.ServicesGVR, "apps", "hello"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Observe(ctx, deletingMR(mg)); err != nil {
		t.Fatal(err)
	}
	if watches.seen(m, time.Now()) {
		t.Error("a released managed resource counts as seen")
	}
}

// seenWithin waits until watches.seen(m) is want.
func seenWithin(t *testing.T, watches *targetWatches, m manager, want bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); watches.seen(m, time.Now()) != want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("seen is not %v after %s", want, what)
		}
	}
}

// A ServingRuntime is reconciled on any change of the runtime's Deployments;
// a ServingConfig on a change of its config map only.
func TestTargetWatchesOfTheRuntimeAndConfigMaps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := kubetest.New()
	c.RunControlPlane(ctx)
	if err := (&serving.Installer{Clients: c.Clients}).Apply(ctx, serving.Spec{}.WithDefaults(), nil, true); err != nil {
		t.Fatal(err)
	}
	watches := newTargetWatches(logging.NewNopLogger(), time.Hour)
	runtimes, configs := make(chan event.GenericEvent, 256), make(chan event.GenericEvent, 256)
	rt := &servingRuntimeExternal{installer: &serving.Installer{Clients: c.Clients}, watches: watches, events: runtimes}
	mg := &servingv1alpha1.ServingRuntime{ObjectMeta: metav1.ObjectMeta{Name: "serving"}}
	if _, err := rt.Observe(ctx, mg); err != nil {
		t.Fatal(err)
	}
	receive(t, runtimes, "the informer listed the runtime's Deployments")
	cfg := &servingConfigExternal{config: &serving.Config{Clients: c.Clients, Name: "autoscaler"}, watches: watches, events: configs}
	if _, err := cfg.Observe(ctx, servingConfigMR(map[string]string{"stable-window": "90s"})); err != nil {
		t.Fatal(err)
	}
	receive(t, configs, "the informer listed config-autoscaler")
	for len(runtimes) > 0 || len(configs) > 0 { // what the control plane's rollouts sent meanwhile
		select {
		case <-runtimes:
		case <-configs:
		}
	}
	cancel() // the stand-in control plane rewrites objects: stop it before watching for quiet
	time.Sleep(50 * time.Millisecond)
	for len(runtimes) > 0 || len(configs) > 0 {
		select {
		case <-runtimes:
		case <-configs:
		}
	}
	autoscaler := c.Get(serving.ConfigMapsGVR, serving.Namespace, "config-autoscaler")
	autoscaler.Object["data"] = map[string]any{"stable-window": "60s"}
	c.Put(serving.ConfigMapsGVR, autoscaler)
	if got := receive(t, configs, "kubectl edited config-autoscaler"); got.Name != "autoscaler" {
		t.Fatalf("reconcile of %v", got)
	}
	gc := c.Get(serving.ConfigMapsGVR, serving.Namespace, "config-gc")
	gc.Object["data"] = map[string]any{"retain-since-create-time": "1h"}
	c.Put(serving.ConfigMapsGVR, gc)
	quiet(t, configs, "a change of another config map")
	controller := c.Get(serving.DeploymentsGVR, serving.Namespace, "controller")
	_ = unstructured.SetNestedField(controller.Object, int64(0), "spec", "replicas")
	c.Put(serving.DeploymentsGVR, controller)
	if got := receive(t, runtimes, "the controller Deployment was scaled down"); got.Name != mg.Name {
		t.Fatalf("reconcile of %v", got)
	}
}

// A watch's informer keeps which object changed, not the object: with
// thousands of managed Services a copy of each would be most of the
// provider's memory.
func TestWatchesKeepOnlyNames(t *testing.T) {
	live := knativeService("example.com/app-a", 3, 3, "True", "", "")
	live.SetResourceVersion("42")
	kept, err := NameOnly(live)
	if err != nil {
		t.Fatal(err)
	}
	object, ok := kept.(*metav1.PartialObjectMetadata)
	if !ok {
		t.Fatalf("kept a %T", kept)
	}
	if object.Namespace != "apps" || object.Name != "hello" || object.ResourceVersion != "42" || object.Kind != "Service" {
		t.Fatalf("kept %+v", object)
	}
	if object.Labels != nil || object.Annotations != nil || object.ManagedFields != nil {
		t.Fatalf("kept more than the name: %+v", object.ObjectMeta)
	}
	// A tombstone or anything else passes as it is.
	tombstone := cache.DeletedFinalStateUnknown{Key: "apps/hello", Obj: live}
	if got, _ := NameOnly(tombstone); got != tombstone {
		t.Fatalf("a tombstone became %v", got)
	}
}

// A managed resource whose object's deletion is under way, and which a
// working watch sees, is requeued at the poll, not at once: the watch sends
// the object's disappearance. The deletion is asked for once.
func TestDeletionWaitsForTheWatch(t *testing.T) {
	ctx := context.Background()
	const poll = 10 * time.Minute
	c, watches, events, e := watchedCluster(knativeService("example.com/app-a", 1, 1, "True", "", ""))
	mg := serviceMR("example.com/app-a")
	m := manager{events: events, NamespacedName: types.NamespacedName{Namespace: "apps", Name: "hello"}}
	if _, err := e.Observe(ctx, mg); err != nil {
		t.Fatal(err)
	}
	seenWithin(t, watches, m, true, "the informer listed the Service")

	// What crossplane-runtime does with a deleted managed resource whose
	// object exists: Observe, Delete, and "again, soon".
	var result reconcile.Result
	deleting := func(run func() error) reconcile.Reconciler {
		return deletionWaits{watches: watches, events: events, poll: poll, Reconciler: reconcile.Func(func(context.Context, reconcile.Request) (reconcile.Result, error) {
			return result, run()
		})}
	}
	observeAndDelete := func() error {
		x, _ := serviceExternal(c)
		x.watches, x.events = watches, events
		if _, err := x.Observe(ctx, deletingMR(serviceMR("example.com/app-a"))); err != nil {
			return err
		}
		_, err := x.Delete(ctx, deletingMR(serviceMR("example.com/app-a")))
		return err
	}
	req := reconcile.Request{NamespacedName: m.NamespacedName}
	result = reconcile.Result{Requeue: true} //nolint:staticcheck // crossplane-runtime's
	// The deletion under way (the fake API server would delete at once):
	// not asked again, and requeued at the poll.
	live := c.Get(serving.ServicesGVR, "apps", "hello")
	now := metav1.Now()
	live.SetDeletionTimestamp(&now)
	live.SetFinalizers([]string{metav1.FinalizerDeleteDependents})
	c.Put(serving.ServicesGVR, live)
	writes := c.Writes()
	got, err := deleting(observeAndDelete).Reconcile(ctx, req)
	if err != nil || got != (reconcile.Result{RequeueAfter: poll}) {
		t.Fatalf("a watched deletion under way: %+v, %v; want a requeue at the poll", got, err)
	}
	if c.Writes() != writes {
		t.Error("the deletion under way was asked for again")
	}
	// The note lasts one reconcile: the next that does not delete keeps its result.
	if got, _ := deleting(func() error { return nil }).Reconcile(ctx, req); got != result {
		t.Errorf("a reconcile without a deletion: %+v, want %+v", got, result)
	}
	// A deletion that failed is retried as crossplane-runtime says.
	live.SetFinalizers([]string{metav1.FinalizerOrphanDependents}) // someone's orphaning deletion: ours is foreground
	c.Put(serving.ServicesGVR, live)
	c.Fail("delete", "services", errors.New("API server gone"), nil)
	failed := func() error {
		if err := observeAndDelete(); err == nil {
			return errors.New("the deletion did not fail")
		}
		return nil // crossplane-runtime records the error in the status, and requeues
	}
	if got, err := deleting(failed).Reconcile(ctx, req); err != nil || got != result {
		t.Errorf("a failed deletion: %+v, %v; want crossplane-runtime's %+v", got, err, result)
	}
	if got, _ := deleting(func() error { return nil }).Reconcile(ctx, req); got != result {
		t.Errorf("after a failed deletion: %+v, want %+v", got, result)
	}

	// Not seen by a working watch (none runs for this cluster): at once.
	other := kubetest.New()
	other.Put(serving.ServicesGVR, knativeService("example.com/app-a", 1, 1, "True", "", ""))
	unwatched := func() error {
		x, _ := serviceExternal(other)
		if _, err := x.Observe(ctx, deletingMR(serviceMR("example.com/app-a"))); err != nil {
			return err
		}
		_, err := x.Delete(ctx, deletingMR(serviceMR("example.com/app-a")))
		return err
	}
	if got, err := deleting(unwatched).Reconcile(ctx, req); err != nil || got != result {
		t.Errorf("an unwatched deletion: %+v, %v; want %+v", got, err, result)
	}
	if other.Get(serving.ServicesGVR, "apps", "hello") != nil {
		t.Error("the unwatched Service was not deleted")
	}
}
