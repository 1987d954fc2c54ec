package provider_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/controller"
	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// BenchmarkCrossplaneServices creates Service managed resources (200, or
// KNATIVE_BENCH_MRS) spread over 20 namespaces (KNATIVE_BENCH_MR_NAMESPACES)
// and waits until every one is Ready, with the Crossplane provider's defaults
// but for a 10-minute poll (drift and Knative's verdict reach it through its
// watches of the target cluster), and, alternately, the same Services through
// the Terraform provider's protocol server at terraform's default parallelism
// (goal: within 1.2x). The bench's own watches of the Knative Services and of
// the managed resources time, per Service, how long Knative's Ready verdict
// takes to reach its managed resource (goal: 1 s), against the latency of a
// plain watch. Then it edits a managed field of the Services out of band 100
// times (KNATIVE_BENCH_EDITS), one at a time, and times each revert (goal: p95
// within 5 s). Then, with everything in sync, it counts the controllers'
// requests to the target cluster and the process's CPU over 5 idle minutes
// (KNATIVE_BENCH_IDLE; goals: no writes, at most 0.2 reads per managed
// resource per minute, half a core), and reports the process's peak RSS
// (controllers and harness; goal: 300 MiB). KNATIVE_BENCH_TARGET_QPS sets
// the ClusterProviderConfig's qps (burst twice that) instead of the default,
// KNATIVE_BENCH_RECONCILE_RATE the reconcile rate and KNATIVE_BENCH_READY_POLL
// the ready poll: with a short one a small run asks as many ready polls of
// the rate as 2,000 managed resources do with the default.
func BenchmarkCrossplaneServices(b *testing.B) {
	count := benchInt("KNATIVE_BENCH_MRS", 200)
	spread := min(count, benchInt("KNATIVE_BENCH_MR_NAMESPACES", 20))
	edits := benchInt("KNATIVE_BENCH_EDITS", 100)
	idle := benchDuration("KNATIVE_BENCH_IDLE", 5*time.Minute)
	const poll = 10 * time.Minute
	c, server, _ := benchServiceServer(b)
	var reads, writes atomic.Int64
	idleRequests := requestTally{}
	x := acctest.StartCrossplane(b, c, acctest.CrossplaneOptions{
		Namespace: "bench-xp", PollInterval: poll, WatchTargets: true, QuietLogs: true,
		ReadyPoll:        benchDuration("KNATIVE_BENCH_READY_POLL", controller.WatchedReadyPoll),
		MaxReconcileRate: benchInt("KNATIVE_BENCH_RECONCILE_RATE", controller.DefaultMaxReconcileRate),
		TargetTransport: acctest.Counting(func(r *http.Request) {
			if r.Method == http.MethodGet {
				reads.Add(1)
			} else {
				writes.Add(1)
			}
			idleRequests.add(r)
		}),
	})
	if qps := benchInt("KNATIVE_BENCH_TARGET_QPS", 0); qps > 0 {
		// The client to the target cluster at another rate than the default's.
		x.ApplyYAML(b, fmt.Sprintf(`
apiVersion: knative.m.crossplane.io/v1alpha1
kind: ClusterProviderConfig
metadata: {name: default}
spec:
  credentials: {source: InjectedIdentity}
  qps: %d
  burst: %d
`, qps, 2*qps))
	}
	ctx := context.Background()
	namespaces := make([]string, spread)
	for k := range namespaces {
		namespaces[k] = fmt.Sprintf("bench-xp-%d", k)
		x.Apply(b, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespaces[k]}})
	}
	seen := watchServices(b, x)
	sb := benchSandbox(b, c)
	// The sandbox creates or deletes a Knative Service in about 0.7 s of its
	// two cores; some four times that is a stall, not a slow machine.
	patience := max(30*time.Minute, time.Duration(count)*3*time.Second)

	var crossplane, terraform time.Duration
	var readyDelays, watchLatencies, reverts []time.Duration
	var readsPerMinute, writesPerMinute, idleCores, sandboxIdleCores float64
	for i := 0; i < b.N; i++ {
		prefix := fmt.Sprintf("bench-xp-%d", i)
		name := func(n int) (namespace, name string) {
			return namespaces[n%spread], fmt.Sprintf("%s-%d", prefix, n)
		}
		crossplane += logged(b, fmt.Sprintf("%d managed resources created, all Ready", count), func() {
			inParallel(b, count, func(n int) error {
				namespace, name := name(n)
				return x.Client.Create(ctx, acctest.Decode(b, fmt.Sprintf(`
apiVersion: serving.knative.m.crossplane.io/v1alpha1
kind: Service
metadata: {name: %s, namespace: %s}
spec:
  providerConfigRef: {kind: ClusterProviderConfig, name: default}
  forProvider:
    spec:
      template:
        spec:
          containers:
          - image: kind.local/hello:v1
`, name, namespace)))
			})
			acctest.Eventually(b, patience, fmt.Sprintf("%d Service managed resources Ready", count), func() (bool, string) {
				ready := seen.readyManaged(prefix)
				return ready == count, fmt.Sprintf("%d of %d Ready", ready, count)
			})
		})
		b.StopTimer()
		for n := 0; n < count; n++ {
			namespace, name := name(n)
			readyDelays = append(readyDelays, seen.readyDelay(namespace, name))
		}
		progress(b, "Knative's Ready verdict to the managed resource: p95 %s, max %s; process peak RSS %.0f MiB",
			percentile(readyDelays, 95).Round(time.Millisecond), percentile(readyDelays, 100).Round(time.Millisecond), processPeakRSSMiB())

		// Out-of-band edits of a managed field, one at a time.
		for e := 0; e < edits; e++ {
			namespace, name := name(e % count)
			latency, revert := seen.editAndWaitForRevert(b, x, namespace, name, fmt.Sprintf("kind.local/drift:%d", e))
			watchLatencies = append(watchLatencies, latency)
			reverts = append(reverts, revert)
		}
		progress(b, "%d out-of-band edits: revert p95 %s, a plain watch's p95 %s", edits,
			percentile(reverts, 95).Round(time.Millisecond), percentile(watchLatencies, 95).Round(time.Millisecond))

		// In sync and idle.
		reads.Store(0)
		writes.Store(0)
		idleRequests.start()
		before, sandboxBefore := cpuTime(), sandboxCPU(b, sb)
		time.Sleep(idle)
		cores := (cpuTime() - before).Seconds() / idle.Seconds()
		sandboxCores, sandboxSplit := coresSince(sandboxBefore, sandboxCPU(b, sb), idle)
		sandboxIdleCores += sandboxCores
		minutes := idle.Minutes() * float64(count)
		readsPerMinute += float64(reads.Load()) / minutes
		writesPerMinute += float64(writes.Load()) / minutes
		idleCores += cores
		progress(b, "%s idle: %d writes, %.3f reads per managed resource per minute, %.3f cores, process peak RSS %.0f MiB; the requests: %s; the sandbox meanwhile: %s",
			idle, writes.Load(), float64(reads.Load())/minutes, cores, processPeakRSSMiB(), idleRequests.stop(), sandboxSplit)

		logged(b, "managed resources and their Knative Services deleted", func() {
			// Names alone, every 2 s: at 2,000 the lists of whole objects, four
			// a second, competed with the garbage collector it waits for (this
			// process used 0.6 to 0.7 of a core meanwhile).
			acctest.EventuallyEvery(b, patience, 2*time.Second, "the managed resources and their Knative Services deleted", func() (bool, string) {
				list := metadataList(servingv1alpha1.ServiceGroupVersionKind)
				if err := x.Client.List(ctx, list); err != nil {
					return false, err.Error()
				}
				// Asked again where one is not deleting yet: a busy API server
				// can drop a collection's deletion halfway.
				undeleted := map[string]bool{}
				for _, mr := range list.Items {
					if mr.DeletionTimestamp == nil {
						undeleted[mr.Namespace] = true
					}
				}
				for namespace := range undeleted {
					if err := x.Client.DeleteAllOf(ctx, &servingv1alpha1.Service{}, client.InNamespace(namespace)); err != nil {
						return false, err.Error()
					}
				}
				live := metadataList(serving.ServicesGVR.GroupVersion().WithKind("Service"))
				if err := x.Client.List(ctx, live); err != nil {
					return false, err.Error()
				}
				return len(list.Items) == 0 && len(live.Items) == 0, fmt.Sprintf("%d managed resources, %d Knative Services left", len(list.Items), len(live.Items))
			})
		})
		b.StartTimer()

		var states []serviceState
		terraform += logged(b, fmt.Sprintf("%d Services through the Terraform path, all Ready", count), func() {
			states = createServices(b, server, "bench-tf-"+strconv.Itoa(i), count)
		})
		b.StopTimer()
		logged(b, "the Terraform path's Services destroyed", func() { deleteServices(b, server, states) })
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(crossplane.Seconds()/n, "crossplane-s/all-ready")
	b.ReportMetric(terraform.Seconds()/n, "terraform-s/all-ready")
	b.ReportMetric(crossplane.Seconds()/terraform.Seconds(), "ratio-vs-terraform")
	watch := percentile(watchLatencies, 95)
	b.ReportMetric(percentile(readyDelays, 95).Seconds(), "ready-delay-p95-s")
	b.ReportMetric(percentile(readyDelays, 100).Seconds(), "ready-delay-max-s")
	b.ReportMetric(watch.Seconds(), "plain-watch-p95-s")
	b.ReportMetric(percentile(reverts, 95).Seconds(), "revert-p95-s")
	b.ReportMetric(percentile(reverts, 95).Seconds()/watch.Seconds(), "revert-p95-ratio-vs-plain-watch")
	b.ReportMetric(readsPerMinute/n, "idle-reads/mr/min")
	b.ReportMetric(writesPerMinute/n, "idle-writes/mr/min")
	b.ReportMetric(idleCores/n, "idle-cores")
	if sb != nil {
		b.ReportMetric(sandboxIdleCores/n, "sandbox-idle-cores")
	}
	b.ReportMetric(processPeakRSSMiB(), "process-peak-rss-MiB")
}

// metadataList is an empty list of the kind's objects' metadata alone.
func metadataList(gvk schema.GroupVersionKind) *metav1.PartialObjectMetadataList {
	list := &metav1.PartialObjectMetadataList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	return list
}

// benchSandbox is the sandbox the bench runs against, or nil on another
// cluster, whose processes are not ours to read. Found once: finding it
// checks the sandbox's health through its API server.
func benchSandbox(b *testing.B, c *acctest.Cluster) *sandbox.Sandbox {
	if !acctest.OnSandbox() {
		return nil
	}
	return c.Sandbox(b)
}

// sandboxCPU is the CPU each process of the sandbox has used so far, by
// name (nil off the sandbox).
func sandboxCPU(b *testing.B, s *sandbox.Sandbox) map[string]time.Duration {
	if s == nil {
		return nil
	}
	times, err := s.CPUTimes()
	if err != nil {
		b.Fatal(err)
	}
	return times
}

// coresSince is the cores the sandbox's processes used between two
// readings d apart, in all and split by process, most first.
func coresSince(before, after map[string]time.Duration, d time.Duration) (float64, string) {
	if after == nil {
		return 0, "not a sandbox"
	}
	type use struct {
		name  string
		cores float64
	}
	var uses []use
	total := 0.0
	for name, t := range after {
		cores := (t - before[name]).Seconds() / d.Seconds()
		total += cores
		uses = append(uses, use{name, cores})
	}
	slices.SortFunc(uses, func(x, y use) int { return cmp.Compare(y.cores, x.cores) })
	split := fmt.Sprintf("%.3f cores", total)
	for _, u := range uses {
		split += fmt.Sprintf(", %s %.3f", u.name, u.cores)
	}
	return total, split
}

// requestTally counts requests by verb and path while started, so a bench
// says where its idle requests go.
type requestTally struct {
	mu     sync.Mutex
	counts map[string]int
}

func (t *requestTally) start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts = map[string]int{}
}

func (t *requestTally) add(r *http.Request) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		return
	}
	what := r.Method + " " + r.URL.Path
	if r.URL.Query().Get("watch") == "true" {
		what += " (watch)"
	}
	t.counts[what]++
}

// stop ends the count and lists what was asked, most often first.
func (t *requestTally) stop() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	keys := slices.Collect(maps.Keys(t.counts))
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(t.counts[b]-t.counts[a], strings.Compare(a, b)) })
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = fmt.Sprintf("%d x %s", t.counts[k], k)
	}
	t.counts = nil
	if len(lines) == 0 {
		return "none"
	}
	return strings.Join(lines, "; ")
}

// percentile is the p-th percentile of durations (nearest rank).
func percentile(durations []time.Duration, p int) time.Duration {
	if len(durations) == 0 {
		return 0
	}
	sorted := slices.Clone(durations)
	slices.Sort(sorted)
	rank := (p*len(sorted) + 99) / 100
	return sorted[max(rank, 1)-1]
}

// serviceWatch is what the bench's own watches saw: when each Knative Service
// and each Service managed resource was first Ready, and the images the
// Knative Services had, as they changed.
type serviceWatch struct {
	mu           sync.Mutex
	knativeReady map[string]time.Time // namespace/name
	managedReady map[string]time.Time
	images       map[string][]imageSeen // each change, in order
	imageChanged *sync.Cond
}

type imageSeen struct {
	image string
	at    time.Time
}

func watchServices(b *testing.B, x *acctest.Crossplane) *serviceWatch {
	w := &serviceWatch{knativeReady: map[string]time.Time{}, managedReady: map[string]time.Time{}, images: map[string][]imageSeen{}}
	w.imageChanged = sync.NewCond(&w.mu)
	ctx, stop := context.WithCancel(context.Background())
	b.Cleanup(stop)
	factory := dynamicinformer.NewDynamicSharedInformerFactory(x.Clients.Dynamic, 0)
	// Each object is seen as it arrives, and the informer keeps its name
	// alone: copies of every Service here would be counted in the process's
	// RSS, which is meant to be the provider's.
	on := func(gvr schema.GroupVersionResource, seen func(u *unstructured.Unstructured, at time.Time)) {
		if err := factory.ForResource(gvr).Informer().SetTransform(func(obj any) (any, error) {
			if u, ok := obj.(*unstructured.Unstructured); ok {
				seen(u, time.Now())
			}
			return controller.NameOnly(obj)
		}); err != nil {
			b.Fatal(err)
		}
	}
	on(serving.ServicesGVR, func(u *unstructured.Unstructured, at time.Time) {
		key := u.GetNamespace() + "/" + u.GetName()
		w.mu.Lock()
		defer w.mu.Unlock()
		if _, ok := w.knativeReady[key]; !ok && serving.Judge(u, u.GetGeneration()).State == serving.Ready {
			w.knativeReady[key] = at
		}
		containers, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
		if len(containers) > 0 {
			image, _ := containers[0].(map[string]any)["image"].(string)
			if seen := w.images[key]; len(seen) == 0 || seen[len(seen)-1].image != image {
				w.images[key] = append(seen, imageSeen{image, at})
				w.imageChanged.Broadcast()
			}
		}
	})
	on(servingv1alpha1.SchemeGroupVersion.WithResource("services"), func(u *unstructured.Unstructured, at time.Time) {
		key := u.GetNamespace() + "/" + u.GetName()
		conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		for _, c := range conditions {
			if c, _ := c.(map[string]any); c["type"] == "Ready" && c["status"] == "True" {
				w.mu.Lock()
				if _, ok := w.managedReady[key]; !ok {
					w.managedReady[key] = at
				}
				w.mu.Unlock()
			}
		}
	})
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	return w
}

// readyManaged counts the managed resources named prefix-... seen Ready.
func (w *serviceWatch) readyManaged(prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	ready := 0
	for key := range w.managedReady {
		if _, name, _ := strings.Cut(key, "/"); strings.HasPrefix(name, prefix+"-") {
			ready++
		}
	}
	return ready
}

// readyDelay is how long after the bench saw Knative's Service Ready it saw
// its managed resource Ready.
func (w *serviceWatch) readyDelay(namespace, name string) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	key := namespace + "/" + name
	return max(w.managedReady[key].Sub(w.knativeReady[key]), 0)
}

// editAndWaitForRevert sets the image of a Knative Service out of band, as
// another field manager, and waits until the bench's watch sees the provider
// set it back. It returns how long the watch took to see the edit (a plain
// watch's latency) and the revert, both from the edit's request.
func (w *serviceWatch) editAndWaitForRevert(b *testing.B, x *acctest.Crossplane, namespace, name, image string) (latency, revert time.Duration) {
	key := namespace + "/" + name
	w.mu.Lock()
	seen := len(w.images[key])
	managed := w.images[key][seen-1].image
	w.mu.Unlock()
	patch := fmt.Sprintf(`[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":%q}]`, image)
	start := time.Now()
	if _, err := x.Clients.Dynamic.Resource(serving.ServicesGVR).Namespace(namespace).Patch(context.Background(), name,
		types.JSONPatchType, []byte(patch), metav1.PatchOptions{FieldManager: "bench-drift"}); err != nil {
		b.Fatal(err)
	}
	deadline := time.AfterFunc(2*time.Minute, func() { w.mu.Lock(); w.imageChanged.Broadcast(); w.mu.Unlock() })
	defer deadline.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		for _, seen := range w.images[key][seen:] {
			switch {
			case seen.image == image && latency == 0:
				latency = seen.at.Sub(start)
			case seen.image == managed && latency != 0:
				return latency, seen.at.Sub(start)
			}
		}
		if time.Since(start) > 2*time.Minute {
			b.Fatalf("the edit of %s was not reverted in 2 minutes (images since: %v)", key, w.images[key][seen:])
		}
		latency = 0
		w.imageChanged.Wait()
	}
}

// benchInt is the number in the environment variable env, or def.
func benchInt(env string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(env)); err == nil && n > 0 {
		return n
	}
	return def
}

func benchDuration(env string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(env)); err == nil && d > 0 {
		return d
	}
	return def
}
