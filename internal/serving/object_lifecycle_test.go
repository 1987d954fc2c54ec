package serving

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	clienttesting "k8s.io/client-go/testing"

	"github.com/tf-knative/terraform-provider-knative/internal/kube/kubetest"
)

// The engine's lifecycle of one Knative object on a fake cluster: every
// branch here is proven against Knative itself by the acceptance tests.

func ksvc(name, image string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Service",
		"metadata": map[string]any{"name": name, "namespace": "default"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"image": image}},
		}}},
	}}
}

// withStatus is obj as Knative's controller leaves it: observedGeneration and
// the Ready condition (with a failing sub-condition when reason is set).
func withStatus(obj *unstructured.Unstructured, observed int64, ready, reason, message string) *unstructured.Unstructured {
	obj = obj.DeepCopy()
	conditions := []any{map[string]any{"type": "Ready", "status": ready, "reason": reason, "message": message}}
	if ready == "False" {
		conditions = append(conditions, map[string]any{"type": "ConfigurationsReady", "status": "False", "reason": reason, "message": message})
	}
	obj.Object["status"] = map[string]any{"observedGeneration": observed, "conditions": conditions, "url": "http://" + obj.GetName() + ".default.example.com"}
	return obj
}

func quick(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// endedOnceWaiting is a context that ends a moment after the installer
// reports the wait named by what: a test of what a wait that timed
// out says gives the wait that moment, however long the writes before it
// take on a machine busy with other builds.
func endedOnceWaiting(t *testing.T, in *Installer, what string) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	var once sync.Once
	onProgress(in, what, func() { once.Do(func() { time.AfterFunc(time.Second, cancel) }) })
	return ctx
}

// interruptedRead is a context that ends during the second read of resource
// (by verb) once armed: a test that a wait's error names what the whole read
// before found, not the interrupted read's "context canceled". Reads after
// that fail too.
func interruptedRead(t *testing.T, c *kubetest.Cluster, verb, resource string) (ctx context.Context, arm func()) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	var armed atomic.Bool
	var reads atomic.Int32
	c.Fail(verb, resource, context.Canceled, func(clienttesting.Action) bool {
		if !armed.Load() || reads.Add(1) < 2 {
			return false
		}
		cancel()
		return true
	})
	return ctx, func() { armed.Store(true) }
}

// onProgress calls do at each of the installer's reports that names what.
func onProgress(in *Installer, what string, do func()) {
	in.Progress = func(msg string) {
		if strings.Contains(msg, what) {
			do()
		}
	}
}

func TestObjectsApplyObserveDrift(t *testing.T) {
	ctx := context.Background()
	c := kubetest.New()
	objects := Service.On(c.Clients)

	obs, err := objects.Observe(ctx, "default", "hello", ksvc("hello", "a"))
	if err != nil || obs.Live != nil {
		t.Fatalf("Observe of a missing Service = %+v, %v; want no live object", obs, err)
	}
	live, err := objects.Apply(ctx, ksvc("hello", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if live.GetGeneration() != 1 || live.GetUID() == "" {
		t.Errorf("applied Service: generation %d uid %q", live.GetGeneration(), live.GetUID())
	}
	// Knative's webhook and controller add fields: never drift.
	added := live.DeepCopy()
	added.SetAnnotations(map[string]string{"serving.knative.dev/creator": "admin"})
	_ = unstructured.SetNestedField(added.Object, int64(0), "spec", "template", "spec", "containerConcurrency")
	c.Put(ServicesGVR, withStatus(added, 1, "True", "", ""))
	obs, err = objects.Observe(ctx, "default", "hello", ksvc("hello", "a"))
	if err != nil || obs.Drift != "" {
		t.Fatalf("Observe after Knative's additions: drift %q, %v", obs.Drift, err)
	}
	if _, ok, _ := unstructured.NestedFieldNoCopy(obs.Fields, "spec", "template", "spec", "containerConcurrency"); ok {
		t.Errorf("Fields carry a field only Knative set: %v", obs.Fields)
	}
	// Someone else changes the image: drift, named at the field.
	changed := c.Get(ServicesGVR, "default", "hello")
	_ = unstructured.SetNestedSlice(changed.Object, []any{map[string]any{"image": "b"}}, "spec", "template", "spec", "containers")
	c.Put(ServicesGVR, changed)
	obs, err = objects.Observe(ctx, "default", "hello", ksvc("hello", "a"))
	if err != nil || !strings.Contains(obs.Drift, `containers[0].image is "b", want "a"`) {
		t.Fatalf("drift = %q, %v", obs.Drift, err)
	}
	// The apply takes the field back and Knative sees a new generation.
	live, err = objects.Apply(ctx, ksvc("hello", "a"))
	if err != nil || live.GetGeneration() != 2 {
		t.Fatalf("re-apply: generation %d, %v", live.GetGeneration(), err)
	}
	// Imported (no desired): adopted without what Knative defaults.
	obs, err = objects.Observe(ctx, "default", "hello", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := obs.Fields["metadata"].(map[string]any)["annotations"]; ok {
		t.Errorf("adopted metadata keeps Knative's system annotations: %v", obs.Fields["metadata"])
	}
	if _, ok, _ := unstructured.NestedFieldNoCopy(obs.Fields, "spec", "template", "spec", "containerConcurrency"); ok {
		t.Errorf("adopted spec keeps the webhook's default containerConcurrency: %v", obs.Fields["spec"])
	}
}

func TestObjectsReadErrors(t *testing.T) {
	ctx := context.Background()
	c := kubetest.New()
	c.Fail("get", "services", apierrors.NewForbidden(ServicesGVR.GroupResource(), "hello", errors.New("RBAC")), nil)
	if _, err := Service.On(c.Clients).Observe(ctx, "default", "hello", ksvc("hello", "a")); !apierrors.IsForbidden(err) {
		t.Errorf("Observe = %v, want the API server's Forbidden", err)
	}
	if err := Service.On(c.Clients).PrepareCreate(ctx, "default", "hello"); !apierrors.IsForbidden(err) {
		t.Errorf("PrepareCreate = %v, want the API server's Forbidden", err)
	}
}

func TestApplyExplainsAnUnreachableWebhook(t *testing.T) {
	c := kubetest.New()
	c.Fail("patch", "services", apierrors.NewInternalError(errors.New(`failed calling webhook "webhook.serving.knative.dev": connection refused`)), nil)
	_, err := Service.On(c.Clients).Apply(context.Background(), ksvc("hello", "a"))
	if err == nil || !strings.Contains(err.Error(), "Knative's webhook cannot be reached") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Apply = %v", err)
	}
	for _, other := range []error{
		errors.New("conflict"),
		// A webhook's own verdict names the webhook too, but the API server called it.
		apierrors.NewBadRequest(`admission webhook "validation.webhook.serving.knative.dev" denied the request`),
		apierrors.NewInternalError(errors.New(`failed calling webhook "policy.example.com": connection refused`)),
	} {
		if err := explainAdmission(other); err.Error() != other.Error() {
			t.Errorf("another error is reworded: %v", err)
		}
	}
}

func TestPrepareCreate(t *testing.T) {
	owned := ksvc("hello", "a")
	owned.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "hello"}})
	route := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "serving.knative.dev/v1", "kind": "Route",
		"metadata": map[string]any{"name": "hello", "namespace": "default"}}}
	route.SetOwnerReferences(owned.GetOwnerReferences())
	orphanRoute := route.DeepCopy()
	orphanRoute.SetOwnerReferences(nil)
	orphanRoute.SetLabels(map[string]string{"serving.knative.dev/service": "hello"})
	for _, tc := range []struct {
		name    string
		kind    *Kind
		gvr     schema.GroupVersionResource
		live    []*unstructured.Unstructured
		want    string // "" for no error
		exists  bool
		timeout bool
	}{
		{name: "nothing there", kind: Service, gvr: ServicesGVR},
		{name: "exists: import it", kind: Service, gvr: ServicesGVR, live: []*unstructured.Unstructured{ksvc("hello", "a")}, exists: true,
			want: "the Knative Service default/hello already exists; import it to manage it"},
		{name: "a Service's own Route", kind: Route, gvr: RoutesGVR, live: []*unstructured.Unstructured{route},
			want: `belongs to the Knative Service "hello"`},
		{name: "a leftover nothing owns", kind: Service, gvr: RoutesGVR, live: []*unstructured.Unstructured{orphanRoute},
			want: `labelled as part of Knative Service "hello" exists that nothing owns`},
		{name: "still being deleted", kind: Service, gvr: ServicesGVR, live: []*unstructured.Unstructured{deleting(ksvc("hello", "a"))}, timeout: true,
			want: "the Knative Service default/hello is still being deleted: context deadline exceeded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := kubetest.New()
			for _, o := range tc.live {
				c.Put(tc.gvr, o)
			}
			ctx := context.Background()
			if tc.timeout {
				ctx = quick(t, 300*time.Millisecond)
			}
			err := tc.kind.On(c.Clients).PrepareCreate(ctx, "default", "hello")
			var exists *ExistsError
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("PrepareCreate = %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("PrepareCreate = %v, want %q", err, tc.want)
			case errors.As(err, &exists) != tc.exists:
				t.Fatalf("PrepareCreate = %T, ExistsError %v", err, tc.exists)
			}
		})
	}
}

func deleting(obj *unstructured.Unstructured) *unstructured.Unstructured {
	now := metav1.Now()
	obj.SetDeletionTimestamp(&now)
	obj.SetFinalizers([]string{"foregroundDeletion"})
	return obj
}

func TestPrepareCreateWaitsForADeletionToFinish(t *testing.T) {
	c := kubetest.New(deleting(ksvc("hello", "a")))
	go func() {
		time.Sleep(150 * time.Millisecond)
		_ = c.Dynamic.Tracker().Delete(ServicesGVR, "default", "hello")
	}()
	if err := Service.On(c.Clients).PrepareCreate(quick(t, 10*time.Second), "default", "hello"); err != nil {
		t.Fatal(err)
	}
}

func TestWaitReady(t *testing.T) {
	for _, tc := range []struct {
		name       string
		steps      []*unstructured.Unstructured // written one after another while waiting
		delete     bool
		generation int64
		want       string // error; "" when Ready
	}{
		{name: "ready", generation: 1, steps: []*unstructured.Unstructured{withStatus(ksvc("hello", "a"), 1, "True", "", "")}},
		{name: "ready after an old generation's verdict", generation: 2, steps: []*unstructured.Unstructured{
			withStatus(ksvc("hello", "a"), 1, "True", "", ""), withStatus(ksvc("hello", "a"), 2, "Unknown", "Deploying", ""),
			withStatus(ksvc("hello", "a"), 2, "True", "", "")}},
		{name: "Knative's reason for failing", generation: 1, steps: []*unstructured.Unstructured{
			withStatus(ksvc("hello", "a"), 1, "False", "RevisionFailed", "Unable to fetch image \"a\"")},
			want: `Knative reports the Knative Service is not ready: RevisionFailed: Unable to fetch image "a"`},
		{name: "deleted while waiting", generation: 1, steps: []*unstructured.Unstructured{withStatus(ksvc("hello", "a"), 1, "Unknown", "", "")}, delete: true,
			want: "Knative Service default/hello was deleted while waiting for it"},
		{name: "still waiting when time is up", generation: 3, steps: []*unstructured.Unstructured{withStatus(ksvc("hello", "a"), 2, "True", "", "")},
			want: "is not ready (Knative has not reconciled generation 3 yet (observed 2))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := kubetest.New()
			c.Put(ServicesGVR, tc.steps[0])
			go func() {
				for _, s := range tc.steps[1:] {
					time.Sleep(20 * time.Millisecond)
					c.Put(ServicesGVR, s)
				}
				if tc.delete {
					time.Sleep(20 * time.Millisecond)
					_ = c.Dynamic.Tracker().Delete(ServicesGVR, "default", "hello")
				}
			}()
			last, err := Service.On(c.Clients).WaitReady(quick(t, time.Second), "default", "hello", tc.generation)
			if tc.want == "" {
				if err != nil || last == nil {
					t.Fatalf("WaitReady = %v, %v", last, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("WaitReady = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDeleteWaitsForWhatKnativeDerived(t *testing.T) {
	revision := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
		"metadata": map[string]any{"name": "hello-00001", "namespace": "default", "labels": map[string]any{"serving.knative.dev/service": "hello"}}}}
	revision.SetOwnerReferences([]metav1.OwnerReference{{Kind: "Configuration", Name: "hello"}})
	c := kubetest.New(ksvc("hello", "a"), revision)
	go func() {
		time.Sleep(150 * time.Millisecond) // the garbage collector
		_ = c.Dynamic.Tracker().Delete(RevisionsGVR, "default", "hello-00001")
	}()
	if err := Service.On(c.Clients).Delete(quick(t, 10*time.Second), "default", "hello"); err != nil {
		t.Fatal(err)
	}
	if c.Get(ServicesGVR, "default", "hello") != nil || c.Get(RevisionsGVR, "default", "hello-00001") != nil {
		t.Fatal("Delete returned before the Service and its Revision were gone")
	}
	var propagation *metav1.DeletionPropagation
	for _, a := range c.Dynamic.Actions() {
		if d, ok := a.(clienttesting.DeleteAction); ok && d.GetResource() == ServicesGVR {
			propagation = d.GetDeleteOptions().PropagationPolicy
		}
	}
	if propagation == nil || *propagation != metav1.DeletePropagationForeground {
		t.Errorf("the Service was deleted with propagation %v, want Foreground", propagation)
	}
	// Gone already: nothing to do, no error.
	if err := Service.On(c.Clients).Delete(quick(t, time.Second), "default", "hello"); err != nil {
		t.Errorf("Delete of a missing Service = %v", err)
	}
}

// The API server keeps a Service deleted in the foreground until the garbage
// collector has deleted what Knative derived from it. Delete watches it until
// it is gone, as kubectl delete --wait does, rather than reading it again and
// again; another object's deletion does not end the wait.
func TestDeleteWatchesUntilTheObjectIsGone(t *testing.T) {
	c := kubetest.New(ksvc("hello", "a"), ksvc("other", "a"))
	c.Dynamic.PrependReactor("delete", "services", func(a clienttesting.Action) (bool, runtime.Object, error) {
		name := a.(clienttesting.DeleteAction).GetName()
		c.Put(ServicesGVR, deleting(c.Get(ServicesGVR, "default", name)))
		return true, nil, nil
	})
	go func() { // the garbage collector, done with other first
		time.Sleep(100 * time.Millisecond)
		_ = c.Dynamic.Tracker().Delete(ServicesGVR, "default", "other")
		time.Sleep(100 * time.Millisecond)
		_ = c.Dynamic.Tracker().Delete(ServicesGVR, "default", "hello")
	}()
	if err := Service.On(c.Clients).Delete(quick(t, 10*time.Second), "default", "hello"); err != nil {
		t.Fatal(err)
	}
	if c.Get(ServicesGVR, "default", "hello") != nil {
		t.Fatal("Delete returned while the Service was still being deleted")
	}
	verbs := map[string]int{}
	for _, a := range c.Dynamic.Actions() {
		if a.GetResource() == ServicesGVR {
			verbs[a.GetVerb()]++
		}
	}
	if verbs["get"] != 0 || verbs["watch"] == 0 {
		t.Errorf("the wait for the deletion made %v requests for Services, want a watch and no GETs", verbs)
	}
}

// laggingList makes the first list of Services come back empty, as one
// served from an API server's watch cache can just after a write; the watch
// after it brings what exists, a moment later (the wait looks at what the
// list found before that).
func laggingList(c *kubetest.Cluster) {
	var lists atomic.Int32
	c.Dynamic.PrependReactor("list", "services", func(clienttesting.Action) (bool, runtime.Object, error) {
		if lists.Add(1) > 1 {
			return false, nil, nil
		}
		empty := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "serving.knative.dev/v1", "kind": "ServiceList"}}
		return true, empty, nil
	})
	c.Dynamic.PrependWatchReactor("services", func(clienttesting.Action) (bool, watch.Interface, error) {
		time.Sleep(200 * time.Millisecond)
		return false, nil, nil
	})
}

// A list that lags is no proof that the object does not exist: the waits
// read it, and go on watching when it does.
func TestWaitsSeeThroughALaggingList(t *testing.T) {
	t.Run("ready", func(t *testing.T) {
		c := kubetest.New(ksvc("hello", "a"))
		laggingList(c)
		go func() {
			time.Sleep(100 * time.Millisecond)
			c.Put(ServicesGVR, withStatus(ksvc("hello", "a"), 1, "True", "", ""))
		}()
		if _, err := Service.On(c.Clients).WaitReady(quick(t, 10*time.Second), "default", "hello", 1); err != nil {
			t.Fatalf("WaitReady = %v", err)
		}
	})
	t.Run("gone", func(t *testing.T) {
		c := kubetest.New(deleting(ksvc("hello", "a")))
		laggingList(c)
		go func() {
			time.Sleep(400 * time.Millisecond) // after the watch started
			_ = c.Dynamic.Tracker().Delete(ServicesGVR, "default", "hello")
		}()
		if err := Service.On(c.Clients).PrepareCreate(quick(t, 10*time.Second), "default", "hello"); err != nil {
			t.Fatal(err)
		}
		if c.Get(ServicesGVR, "default", "hello") != nil {
			t.Fatal("PrepareCreate returned while the Service was still being deleted")
		}
	})
	t.Run("deleted before the wait", func(t *testing.T) {
		c := kubetest.New()
		laggingList(c)
		_, err := Service.On(c.Clients).WaitReady(quick(t, 10*time.Second), "default", "hello", 1)
		if err == nil || !strings.Contains(err.Error(), "Knative Service default/hello was deleted while waiting for it") {
			t.Fatalf("WaitReady = %v", err)
		}
	})
}

func TestDeleteReportsLingeringLeftovers(t *testing.T) {
	revision := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "serving.knative.dev/v1", "kind": "Revision",
		"metadata": map[string]any{"name": "hello-00001", "namespace": "default", "labels": map[string]any{"serving.knative.dev/service": "hello"}}}}
	revision.SetOwnerReferences([]metav1.OwnerReference{{Kind: "Configuration", Name: "hello"}})
	const lingering = "1 objects of a deleted Service of the same name (such as Revision hello-00001) are still being garbage collected"
	c := kubetest.New(ksvc("hello", "a"), revision)
	err := Service.On(c.Clients).Delete(quick(t, 300*time.Millisecond), "default", "hello")
	if err == nil || !strings.Contains(err.Error(), lingering) {
		t.Fatalf("Delete = %v", err)
	}
	// The context ends during a read of the leftovers: still named.
	c = kubetest.New(ksvc("hello", "a"), revision)
	ctx, arm := interruptedRead(t, c, "list", "revisions")
	arm()
	if err := Service.On(c.Clients).Delete(ctx, "default", "hello"); err == nil || !strings.Contains(err.Error(), lingering) {
		t.Fatalf("Delete interrupted during a read = %v", err)
	}
}

func TestStartDeleteErrors(t *testing.T) {
	c := kubetest.New(ksvc("hello", "a"))
	c.Fail("delete", "services", apierrors.NewInternalError(errors.New("etcd down")), nil)
	if err := Service.On(c.Clients).Delete(context.Background(), "default", "hello"); !apierrors.IsInternalError(err) {
		t.Errorf("Delete = %v, want the API server's error", err)
	}
}

func TestVerdictKeepsKnativesReadyCondition(t *testing.T) {
	v := Judge(withStatus(ksvc("hello", "a"), 1, "False", "RevisionFailed", "no image"), 1)
	if v.State != Failed || v.Ready.Status != "False" || v.Ready.Reason != "RevisionFailed" || v.Ready.Message != "no image" {
		t.Errorf("Judge = %+v", v)
	}
	if v := Judge(ksvc("hello", "a"), 0); v.State != Pending || v.Ready.Type != "" || v.Waiting != "no Ready condition yet" {
		t.Errorf("Judge without status = %+v", v)
	}
	if err := Judge(withStatus(ksvc("hello", "a"), 1, "True", "", ""), 1).Err("Knative Service"); err != nil {
		t.Errorf("Err of a Ready verdict = %v", err)
	}
}
