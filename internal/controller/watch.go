package controller

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// ManagedLabel marks the Knative objects this provider applies, so that the
// watches on target clusters see only those.
const ManagedLabel = "knative.m.crossplane.io/managed-by"

// targetWatches keep one informer per target cluster and watched resource,
// limited to what this provider manages, and turn each change of a watched
// object into a reconcile of the managed resources that manage it: drift and
// Knative's verdicts are seen within moments instead of at the next poll. An
// informer starts with the first managed resource that needs it and stops
// with the last: a managed resource is released once its object is gone
// after it was deleted, or when it has not been observed for ttl (deleted
// with an Orphan policy, which observes nothing). Polls go on beside the
// watches: a watch that breaks (its informer lists and watches again, with
// backoff, by itself) costs time, never correctness.
type targetWatches struct {
	log     logging.Logger
	ttl     time.Duration
	mu      sync.Mutex
	running map[watchKey]*targetWatch
	// sees holds the managed resources whose object's every change the
	// watch of that key sends them (an Observe-only import's object carries
	// no ManagedLabel, so no watch sees it).
	sees map[manager]watchKey
	// awaiting holds the managed resources whose reconcile, now running,
	// started (or found) their object's deletion while a working watch sees
	// it (see deletionWaits).
	awaiting map[manager]struct{}
	janitor  sync.Once
}

// watchKey is one informer: a target cluster's clients (one set per cluster
// configuration, see clientCache), a resource, and its scope.
type watchKey struct {
	clients   *kube.Clients
	gvr       schema.GroupVersionResource
	namespace string // "" for every namespace
	selector  string // label selector
}

type targetWatch struct {
	stop   context.CancelFunc
	synced func() bool
	broke  atomic.Int64 // when the watch last failed, unix nanoseconds
	// managers are, per watched object (namespace/name, or "" for any object
	// of the watch), the managed resources to reconcile when it changes, and
	// when each was last observed.
	managers map[string]map[manager]time.Time
}

// manager is a managed resource, and the channel of its kind's controller.
type manager struct {
	events chan<- event.GenericEvent
	types.NamespacedName
}

// managerOf is mg, whose kind's controller channel is events.
func managerOf(events chan<- event.GenericEvent, mg resource.Managed) manager {
	return manager{events: events, NamespacedName: types.NamespacedName{Namespace: mg.GetNamespace(), Name: mg.GetName()}}
}

// newTargetWatches releases managed resources not observed for ttl; every
// managed resource is observed at least once per poll interval.
func newTargetWatches(log logging.Logger, ttl time.Duration) *targetWatches {
	return &targetWatches{log: log, ttl: ttl, running: map[watchKey]*targetWatch{}, sees: map[manager]watchKey{}, awaiting: map[manager]struct{}{}}
}

// watchRecovery is how long a watch that failed is not trusted: its informer
// retries within 30 s (client-go's backoff cap) and each failure is reported
// again, so a minute without one is a watch that works.
const watchRecovery = time.Minute

// seen says whether a working watch sends m every change of its object: then
// Knative's verdict, a change of the object, reconciles m without a poll.
func (w *targetWatches) seen(m manager, now time.Time) bool {
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	key, ok := w.sees[m]
	tw := w.running[key]
	return ok && tw != nil && tw.synced() && now.Sub(time.Unix(0, tw.broke.Load())) > watchRecovery
}

// awaitDeletion notes that m's reconcile has started, or found under way,
// its object's deletion, if a working watch sees the object: its
// disappearance will reconcile m.
func (w *targetWatches) awaitDeletion(m manager, now time.Time) {
	if !w.seen(m, now) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.awaiting[m] = struct{}{}
}

// awaited takes the note of awaitDeletion that m's last reconcile left, if any.
func (w *targetWatches) awaited(m manager) bool {
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.awaiting[m]
	delete(w.awaiting, m)
	return ok
}

// deletionWaits requeues a managed resource whose object is being deleted,
// and which a working watch sees, at the poll rather than at once: the watch
// sends the object's disappearance. crossplane-runtime requeues a deleting
// managed resource at once, with a per-item backoff that the global rate
// limiter's delays reset, so 2,000 managed resources deleted together
// reconciled at the full reconcile rate until their objects were gone (a
// GET, a DELETE, a status update and an event each time): over a third of
// the target API server's requests while its garbage collector deleted what
// Knative had derived (BenchmarkCrossplaneServices).
type deletionWaits struct {
	reconcile.Reconciler
	watches *targetWatches
	events  chan<- event.GenericEvent
	poll    time.Duration
}

func (d deletionWaits) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	result, err := d.Reconciler.Reconcile(ctx, req)
	awaited := d.watches.awaited(manager{events: d.events, NamespacedName: req.NamespacedName})
	//nolint:staticcheck // Requeue is what crossplane-runtime returns for "again, soon"
	if awaited && err == nil && result.Requeue && result.RequeueAfter == 0 && d.poll > 0 {
		return reconcile.Result{RequeueAfter: d.poll}, nil
	}
	return result, err
}

// observed records what an Observe of mg found of object (namespace/name;
// "" for any object of key): mg manages it until mg is deleted and the
// object gone. events is mg's kind's controller channel. sees says whether
// the watch sees every change that decides mg's readiness.
func (w *targetWatches) observed(key watchKey, object string, events chan<- event.GenericEvent, mg resource.Managed, exists, sees bool) {
	m := managerOf(events, mg)
	if meta.WasDeleted(mg) && !exists {
		w.release(key, object, m)
		return
	}
	w.manage(key, object, m, sees)
}

// manage records that m manages object (namespace/name; "" for any object)
// under key, starting key's informer if it is the first.
func (w *targetWatches) manage(key watchKey, object string, m manager, sees bool) {
	if w == nil {
		return
	}
	w.janitor.Do(func() { go w.pruneEvery(w.ttl / 4) })
	w.mu.Lock()
	defer w.mu.Unlock()
	tw := w.running[key]
	if tw == nil {
		tw = w.start(key)
		w.running[key] = tw
	}
	if tw.managers[object] == nil {
		tw.managers[object] = map[manager]time.Time{}
	}
	tw.managers[object][m] = time.Now()
	if sees {
		w.sees[m] = key
	} else {
		delete(w.sees, m)
	}
}

func (w *targetWatches) pruneEvery(period time.Duration) {
	for range time.Tick(max(period, time.Second)) {
		w.prune(time.Now())
	}
}

// prune releases the managed resources not observed since now-ttl.
func (w *targetWatches) prune(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for key, tw := range w.running {
		for object, managers := range tw.managers {
			for m, seen := range managers {
				if now.Sub(seen) > w.ttl {
					delete(managers, m)
					delete(w.sees, m)
				}
			}
			if len(managers) == 0 {
				delete(tw.managers, object)
			}
		}
		if len(tw.managers) == 0 {
			tw.stop()
			delete(w.running, key)
		}
	}
}

// release forgets that m manages object, and stops key's informer with its
// last managed resource.
func (w *targetWatches) release(key watchKey, object string, m manager) {
	if w == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	tw := w.running[key]
	if tw == nil {
		return
	}
	delete(tw.managers[object], m)
	delete(w.sees, m)
	if len(tw.managers[object]) == 0 {
		delete(tw.managers, object)
	}
	if len(tw.managers) == 0 {
		tw.stop()
		delete(w.running, key)
	}
}

// informers is how many informers run, for tests and metrics.
func (w *targetWatches) informers() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.running)
}

// start runs an informer for key; w.mu is held.
func (w *targetWatches) start(key watchKey) *targetWatch {
	ctx, cancel := context.WithCancel(context.Background())
	informer := dynamicinformer.NewFilteredDynamicInformer(key.clients.Dynamic, key.gvr, key.namespace, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = key.selector }).Informer()
	tw := &targetWatch{stop: cancel, synced: informer.HasSynced, managers: map[string]map[manager]time.Time{}}
	notify := func(obj any) {
		if tombstone, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = tombstone.Obj
		}
		object, ok := obj.(metav1.Object)
		if !ok {
			return
		}
		w.notify(ctx, key, cache.MetaObjectToName(object).String())
	}
	_ = informer.SetTransform(NameOnly)
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    notify,
		UpdateFunc: func(_, obj any) { notify(obj) },
		DeleteFunc: notify,
	})
	_ = informer.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		tw.broke.Store(time.Now().UnixNano())
		w.log.Debug("A watch of a target cluster broke; polls go on until it is established again", "resource", key.gvr.String(), "error", err)
	})
	go informer.RunWithContext(ctx)
	return tw
}

// NameOnly is what a watch keeps of an object (an informer transform): which
// one it is. The events say that it changed; what changed the managed
// resource's Observe reads, so the informer's store need not hold a copy of
// every managed Knative object.
func NameOnly(obj any) (any, error) {
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return obj, nil
	}
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: u.GetAPIVersion(), Kind: u.GetKind()},
		ObjectMeta: metav1.ObjectMeta{Namespace: u.GetNamespace(), Name: u.GetName(), ResourceVersion: u.GetResourceVersion()},
	}, nil
}

// notify sends a reconcile of every managed resource that manages object.
func (w *targetWatches) notify(ctx context.Context, key watchKey, object string) {
	w.mu.Lock()
	tw := w.running[key]
	var targets []manager
	if tw != nil {
		for _, scope := range []string{object, ""} {
			for m := range tw.managers[scope] {
				targets = append(targets, m)
			}
		}
	}
	w.mu.Unlock()
	for _, m := range targets {
		select {
		case m.events <- event.GenericEvent{Object: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Namespace: m.Namespace, Name: m.Name}}}:
		case <-ctx.Done():
			return
		}
	}
}
