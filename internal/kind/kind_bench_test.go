package kind

import (
	"context"
	"os"
	"testing"
	"time"
)

// BenchmarkKindCluster creates the kind cluster warm (the node image and
// every binary cached: `kind create` and the cluster's setup) and, with
// KNATIVE_BENCH_KIND_COLD=1, cold first (the node image made again from a
// new debootstrap; the Go builds stay cached, as they are the sandbox's
// too). Against the same cluster reused (Up when it runs: the registry
// filled again, nothing created) as the baseline. It leaves the cluster
// running. Only with KNATIVE_BENCH_KIND=1 (make bench-kind): it deletes the
// cluster the kind tests use.
func BenchmarkKindCluster(b *testing.B) {
	if os.Getenv("KNATIVE_BENCH_KIND") != "1" {
		b.Skip("deletes and creates the kind cluster: set KNATIVE_BENCH_KIND=1 (make bench-kind)")
	}
	ctx := context.Background()
	opts := Options{Name: benchClusterName()}
	var warm, reuse time.Duration
	for i := 0; i < b.N; i++ {
		if os.Getenv("KNATIVE_BENCH_KIND_COLD") == "1" && !coldDone {
			coldDone = true // once per run: the framework calls the benchmark more than once
			if err := Down(ctx, opts, false); err != nil {
				b.Fatal(err)
			}
			c, err := newCluster(opts)
			if err != nil {
				b.Fatal(err)
			}
			if err := c.docker.Start(ctx); err != nil {
				b.Fatal(err)
			}
			if err := c.forgetNodeImage(ctx); err != nil {
				b.Fatal(err)
			}
			started := time.Now()
			if _, err := Up(ctx, opts); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(started).Seconds(), "cold-create-s")
		}
		if err := Down(ctx, opts, false); err != nil {
			b.Fatal(err)
		}
		started := time.Now()
		c, err := Up(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		warm += time.Since(started)
		for _, t := range c.Timings {
			b.Logf("warm create: %s: %s", t.Phase, t.Duration.Round(100*time.Millisecond))
		}
		started = time.Now()
		if _, err := Up(ctx, opts); err != nil {
			b.Fatal(err)
		}
		reuse += time.Since(started)
	}
	b.ReportMetric(warm.Seconds()/float64(b.N), "warm-create-s")
	b.ReportMetric(reuse.Seconds()/float64(b.N), "reuse-s")
	b.ReportMetric(warm.Seconds()/reuse.Seconds(), "warm-create-ratio-vs-reuse")
}

var coldDone bool

func benchClusterName() string {
	if name := os.Getenv("KIND_CLUSTER"); name != "" {
		return name
	}
	return "knative"
}
