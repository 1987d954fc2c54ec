package provider_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/controller"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// BenchmarkCrossplaneServices creates Service managed resources (200, or
// KNATIVE_BENCH_MRS) and waits until every one is Ready, with the Crossplane
// provider's defaults (50 reconciles per second; polled every 2 s until
// Knative decides), and, alternately, the same Services through the Terraform provider's
// protocol server at terraform's default parallelism (goal: within 1.2x).
// Then, with every managed resource in sync, it counts the controllers'
// requests to the target cluster over three polls (goal: no writes, at most
// one read per managed resource per poll).
func BenchmarkCrossplaneServices(b *testing.B) {
	count := benchInt("KNATIVE_BENCH_MRS", 200)
	const namespace, poll = "bench-xp", 5 * time.Second
	c, server, _ := benchServiceServer(b)
	var reads, writes atomic.Int64
	x := acctest.StartCrossplane(b, c, acctest.CrossplaneOptions{
		Namespace: namespace, PollInterval: poll, ReadyPoll: benchDuration("KNATIVE_BENCH_READY_POLL", controller.DefaultReadyPoll),
		MaxReconcileRate: benchInt("KNATIVE_BENCH_RECONCILE_RATE", controller.DefaultMaxReconcileRate),
		TargetTransport: acctest.Counting(func(r *http.Request) {
			if r.Method == http.MethodGet {
				reads.Add(1)
			} else {
				writes.Add(1)
			}
		}),
	})
	ctx := context.Background()

	var crossplane, terraform time.Duration
	var phases phaseTimes
	var readsPerPoll, writesPerPoll float64
	for i := 0; i < b.N; i++ {
		prefix := fmt.Sprintf("bench-xp-%d", i)
		start := time.Now()
		inParallel(b, count, func(n int) error {
			mg := acctest.Decode(b, fmt.Sprintf(`
apiVersion: serving.knative.m.crossplane.io/v1alpha1
kind: Service
metadata: {name: %s-%d, namespace: %s}
spec:
  providerConfigRef: {kind: ProviderConfig, name: target}
  forProvider:
    spec:
      template:
        spec:
          containers:
          - image: kind.local/hello:v1
`, prefix, n, namespace))
			return x.Client.Create(ctx, mg)
		})
		acctest.Eventually(b, 30*time.Minute, fmt.Sprintf("%d Service managed resources Ready", count), func() (bool, string) {
			ready, err := readyServices(ctx, x.Client, namespace)
			return err == nil && ready == count, fmt.Sprintf("%d of %d Ready (%v)", ready, count, err)
		})
		crossplane += time.Since(start)
		b.StopTimer()
		phases.add(b, ctx, x, namespace)

		reads.Store(0)
		writes.Store(0)
		time.Sleep(3 * poll)
		polls := float64(count) * 3
		readsPerPoll += float64(reads.Load()) / polls
		writesPerPoll += float64(writes.Load()) / polls

		if err := x.Client.DeleteAllOf(ctx, &servingv1alpha1.Service{}, client.InNamespace(namespace)); err != nil {
			b.Fatal(err)
		}
		acctest.Eventually(b, 30*time.Minute, "the managed resources and their Knative Services deleted", func() (bool, string) {
			list := &servingv1alpha1.ServiceList{}
			if err := x.Client.List(ctx, list, client.InNamespace(namespace)); err != nil {
				return false, err.Error()
			}
			live, err := x.Clients.Dynamic.Resource(serving.ServicesGVR).Namespace(namespace).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, err.Error()
			}
			return len(list.Items) == 0 && len(live.Items) == 0, fmt.Sprintf("%d managed resources, %d Knative Services left", len(list.Items), len(live.Items))
		})
		b.StartTimer()

		start = time.Now()
		states := createServices(b, server, "bench-tf-"+strconv.Itoa(i), count)
		terraform += time.Since(start)
		b.StopTimer()
		deleteServices(b, server, states)
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(crossplane.Milliseconds())/float64(b.N), "crossplane-ms/all-ready")
	b.ReportMetric(float64(terraform.Milliseconds())/float64(b.N), "terraform-ms/all-ready")
	b.ReportMetric(crossplane.Seconds()/terraform.Seconds(), "ratio-vs-terraform")
	phases.report(b)
	b.ReportMetric(readsPerPoll/float64(b.N), "reads/mr/poll")
	b.ReportMetric(writesPerPoll/float64(b.N), "writes/mr/poll")
}

// readyServices counts the Service managed resources of namespace that are Ready.
func readyServices(ctx context.Context, c client.Client, namespace string) (int, error) {
	list := &servingv1alpha1.ServiceList{}
	if err := c.List(ctx, list, client.InNamespace(namespace)); err != nil {
		return 0, err
	}
	ready := 0
	for i := range list.Items {
		if list.Items[i].GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue {
			ready++
		}
	}
	return ready, nil
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

// phaseTimes splits the Crossplane path by the objects' own timestamps (whole
// seconds): managed resource created -> Knative Service created (the
// controller's create) -> Knative Service Ready (Knative) -> managed resource
// Ready (the observe that sees it).
type phaseTimes struct {
	create, knative, observe time.Duration
	n                        int
}

func (p *phaseTimes) add(b *testing.B, ctx context.Context, x *acctest.Crossplane, namespace string) {
	list := &servingv1alpha1.ServiceList{}
	if err := x.Client.List(ctx, list, client.InNamespace(namespace)); err != nil {
		b.Fatal(err)
	}
	for _, mg := range list.Items {
		live, err := serving.Service.On(x.Clients).Get(ctx, namespace, mg.Name)
		if err != nil || live == nil {
			b.Fatalf("the Knative Service of %s: %v", mg.Name, err)
		}
		knativeReady := time.Time{}
		for _, c := range mg.Status.AtProvider.Conditions {
			if c.Type == "Ready" {
				knativeReady = c.LastTransitionTime.Inner.Time
			}
		}
		created := live.GetCreationTimestamp().Time
		p.create += created.Sub(mg.CreationTimestamp.Time)
		p.knative += knativeReady.Sub(created)
		p.observe += mg.GetCondition(xpv2.TypeReady).LastTransitionTime.Sub(knativeReady)
		p.n++
	}
}

func (p *phaseTimes) report(b *testing.B) {
	if p.n == 0 {
		return
	}
	n := float64(p.n)
	b.ReportMetric(p.create.Seconds()/n, "s-to-create/mr")
	b.ReportMetric(p.knative.Seconds()/n, "s-knative-to-ready/mr")
	b.ReportMetric(p.observe.Seconds()/n, "s-to-observe-ready/mr")
}
