package provider_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"golang.org/x/sync/errgroup"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/provider"
)

// The knative_service benchmarks call the provider as terraform does, through
// the framework's protocol server (ReadResource, ApplyResourceChange with
// msgpack-encoded state and private state; only the gRPC transport is left
// out), against the sandbox at terraform's default -parallelism of 10, and
// compare with the floor a plain client or kubectl reaches on the same objects
// in the same run.

const benchParallelism = 10

// BenchmarkServiceRefresh reads 100 Services (KNATIVE_BENCH_REFRESH_SERVICES) as a plan's refresh does and,
// alternately, GETs them with a plain dynamic client at the same parallelism
// (goal: within 1.3x), each ReadResource call whole: the plugin framework's
// decoding, checks and encoding of the state included
// (BenchmarkServiceRefreshCPU splits that cost). It also counts the provider's
// requests per resource (goal: 1, no discovery).
func BenchmarkServiceRefresh(b *testing.B) {
	count := benchInt("KNATIVE_BENCH_REFRESH_SERVICES", 100)
	c, server, requests := benchServiceServer(b)
	states := createServices(b, server, "bench-refresh", count)
	plain, err := dynamic.NewForConfig(unthrottled(b, c, nil))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()

	var provider, baseline time.Duration
	refreshed := make([]*tfprotov6.ReadResourceResponse, count)
	requests.Store(0)
	b.ResetTimer()
	refreshAll := func() {
		inParallel(b, count, func(n int) error {
			resp, err := server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{
				TypeName: "knative_service", CurrentState: states[n].state, Private: states[n].private,
			})
			if err != nil {
				return err
			}
			refreshed[n] = resp
			return diagnosticsError(resp.Diagnostics)
		})
	}
	getAll := func() {
		inParallel(b, count, func(n int) error {
			_, err := plain.Resource(serving.ServicesGVR).Namespace("default").Get(ctx, fmt.Sprintf("bench-refresh-%d", n), metav1.GetOptions{})
			return err
		})
	}
	// A refresh of 100 takes about 0.1 s: each iteration runs several rounds,
	// alternating which side goes first.
	const rounds = 6
	for i := 0; i < b.N; i++ {
		for round := 0; round < rounds; round++ {
			if round%2 == 0 {
				provider += timed(refreshAll)
				baseline += timed(getAll)
			} else {
				baseline += timed(getAll)
				provider += timed(refreshAll)
			}
		}
	}
	b.StopTimer()
	for n, resp := range refreshed {
		if !bytes.Equal(resp.NewState.MsgPack, states[n].state.MsgPack) {
			b.Errorf("the refresh of bench-refresh-%d changed its state, with nothing changed in the cluster", n)
		}
	}
	b.ReportMetric(float64(provider.Milliseconds())/float64(b.N*rounds), "provider-ms/refresh")
	b.ReportMetric(float64(baseline.Milliseconds())/float64(b.N*rounds), "plain-get-ms/refresh")
	b.ReportMetric(provider.Seconds()/baseline.Seconds(), "ratio-vs-plain-get")
	b.ReportMetric(float64(requests.Load())/float64(b.N*rounds*count), "requests/resource")
	deleteServices(b, server, states)
}

// BenchmarkServiceLifecycle takes 50 Services (KNATIVE_BENCH_LIFECYCLE_SERVICES)
// through an apply, an image update and a destroy as terraform does (each
// waits: Ready, the new revision Ready, gone with everything Knative derived
// from it) and, alternately, the same Services under other names through
// kubectl: `apply --server-side` and `wait --for=condition=Ready`, the same
// for the new image (after waiting for Knative to observe it), and `delete
// --cascade=foreground --wait` (goal: each within 1.1x).
//
// kubectl takes all the Services at once unless KNATIVE_BENCH_KUBECTL_WAVE
// sets how many each of its runs takes, one wave after another: on the 2-core
// sandbox, kubectl's update of 1,000 at once never finished (Knative failed
// revisions whose rollout passed its progress deadline), where the provider
// rolls out terraform's parallelism at a time.
func BenchmarkServiceLifecycle(b *testing.B) {
	count := benchInt("KNATIVE_BENCH_LIFECYCLE_SERVICES", 50)
	wave := benchInt("KNATIVE_BENCH_KUBECTL_WAVE", 0)
	if wave <= 0 || wave > count {
		wave = count
	}
	c, server, _ := benchServiceServer(b)
	kubectl := acctest.Kubectl(b)
	dir := b.TempDir()
	progress(b, "kubectl takes %d Services per run", wave)
	// The garbage collector learns of Knative's kinds, just installed, at its
	// next discovery sync (every 30 s): until then a foreground deletion of a
	// Service waits (41 s for the first in a probe, 0.4 s for the next). One
	// Service created and destroyed first keeps that out of both halves.
	deleteServices(b, server, createServices(b, server, "bench-lifecycle-warmup", 1))

	var apply, update, destroy, kubectlApply, kubectlUpdate, kubectlDestroy time.Duration
	for i := 0; i < b.N; i++ {
		prefix := fmt.Sprintf("bench-lifecycle-%d", i)
		var states []serviceState
		// Each phase is logged as it ends: a run at a size the cluster cannot
		// hold still tells what it measured.
		apply += logged(b, "provider apply", func() { states = createServices(b, server, prefix, count) })
		update += logged(b, "provider update", func() { states = updateServices(b, server, states, prefix, "kind.local/hello:v2") })
		destroy += logged(b, "provider destroy", func() { deleteServices(b, server, states) })

		// The same Services, under other names (no leftovers to wait for),
		// a file per wave.
		var v1, v2 []string
		for first := 0; first < count; first += wave {
			names := fmt.Sprintf("%d-%d", i, first)
			v1 = append(v1, filepath.Join(dir, "v1-"+names+".yaml"))
			v2 = append(v2, filepath.Join(dir, "v2-"+names+".yaml"))
			writeServices(b, v1[len(v1)-1], "kubectl-"+prefix, first, min(first+wave, count), "kind.local/hello:v1")
			writeServices(b, v2[len(v2)-1], "kubectl-"+prefix, first, min(first+wave, count), "kind.local/hello:v2")
		}
		kubectlApply += logged(b, "kubectl apply", func() {
			for _, v1 := range v1 {
				c.RunKubectl(b, kubectl, "apply", "--server-side", "-f", v1)
				c.RunKubectl(b, kubectl, "wait", "--for=condition=Ready", "--timeout=30m", "-f", v1)
			}
		})
		kubectlUpdate += logged(b, "kubectl update", func() {
			for _, v2 := range v2 {
				c.RunKubectl(b, kubectl, "apply", "--server-side", "-f", v2)
				c.RunKubectl(b, kubectl, "wait", "--for=jsonpath={.status.observedGeneration}=2", "--timeout=30m", "-f", v2)
				c.RunKubectl(b, kubectl, "wait", "--for=condition=Ready", "--timeout=30m", "-f", v2)
			}
		})
		kubectlDestroy += logged(b, "kubectl destroy", func() {
			for _, v2 := range v2 {
				c.RunKubectl(b, kubectl, "delete", "--cascade=foreground", "--wait=true", "--timeout=30m", "-f", v2)
			}
		})
	}
	b.StopTimer()
	n := float64(b.N)
	for _, phase := range []struct {
		name              string
		provider, kubectl time.Duration
	}{{"apply", apply, kubectlApply}, {"update", update, kubectlUpdate}, {"destroy", destroy, kubectlDestroy}} {
		b.ReportMetric(phase.provider.Seconds()/n, phase.name+"-s")
		b.ReportMetric(phase.kubectl.Seconds()/n, "kubectl-"+phase.name+"-s")
		b.ReportMetric(phase.provider.Seconds()/phase.kubectl.Seconds(), phase.name+"-ratio-vs-kubectl")
	}
}

// benchServiceServer installs the runtime and returns the provider's protocol
// server, configured with clients whose requests are counted.
func benchServiceServer(b *testing.B) (*acctest.Cluster, tfprotov6.ProviderServer, *atomic.Int64) {
	c := acctest.PreCheck(b)
	requests := &atomic.Int64{}
	clients, err := kube.ClientsFor(unthrottled(b, c, requests), kube.DefaultFieldManager)
	if err != nil {
		b.Fatal(err)
	}
	installer := &serving.Installer{Clients: clients}
	// Start clean, also after an interrupted run.
	removeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := installer.Remove(removeCtx, acctest.ServingSpec(), true); err != nil {
		b.Fatal(err)
	}
	if err := installer.Apply(context.Background(), acctest.ServingSpec(), nil, true); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := installer.Remove(ctx, acctest.ServingSpec(), true); err != nil {
			b.Error(err)
		}
	})
	server := provider.ProtocolServerFor(clients)
	config, err := provider.EmptyProviderConfig()
	if err != nil {
		b.Fatal(err)
	}
	resp, err := server.ConfigureProvider(context.Background(), &tfprotov6.ConfigureProviderRequest{Config: config})
	if err == nil {
		err = diagnosticsError(resp.Diagnostics)
	}
	if err != nil {
		b.Fatal(err)
	}
	return c, server, requests
}

// unthrottled is the cluster's config without client-side rate limiting, so
// the benchmarks measure work, not the token bucket; requests counts requests.
func unthrottled(b *testing.B, c *acctest.Cluster, requests *atomic.Int64) *rest.Config {
	cfg, err := c.RESTConfig()
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = 10000, 10000
	// The API server's warnings reach the provider's diagnostics as with its
	// own clients, not stderr: client-go's default printed a line per create.
	cfg.WarningHandlerWithContext = kube.WarningHandler(nil)
	if requests != nil {
		acctest.CountRequests(cfg, requests)
	}
	return cfg
}

// serviceState is a knative_service's state as terraform stores it.
type serviceState struct {
	state   *tfprotov6.DynamicValue
	private []byte
}

// createServices creates count Services named prefix-N as an apply does,
// waiting for each to be Ready, and returns their states.
func createServices(b *testing.B, server tfprotov6.ProviderServer, prefix string, count int) []serviceState {
	return applyServices(b, server, make([]serviceState, count), prefix, "kind.local/hello:v1")
}

// updateServices changes the image of the Services createServices created, as
// an apply of that change does (waiting for the new revision to be Ready), and
// returns their new states.
func updateServices(b *testing.B, server tfprotov6.ProviderServer, states []serviceState, prefix, image string) []serviceState {
	return applyServices(b, server, states, prefix, image)
}

// applyServices applies the Services prefix-N with image over their prior
// states (none: a create) as an apply does, waiting for each to be Ready.
func applyServices(b *testing.B, server tfprotov6.ProviderServer, prior []serviceState, prefix, image string) []serviceState {
	applied := make([]serviceState, len(prior))
	inParallel(b, len(prior), func(n int) error {
		plan, _, err := provider.ServicePlan(fmt.Sprintf("%s-%d", prefix, n), image)
		if err != nil {
			return err
		}
		typ := plan.Raw.Type()
		planned, err := tfprotov6.NewDynamicValue(typ, plan.Raw)
		if err != nil {
			return err
		}
		priorState := prior[n].state
		if priorState == nil {
			none, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nil))
			if err != nil {
				return err
			}
			priorState = &none
		}
		resp, err := server.ApplyResourceChange(context.Background(), &tfprotov6.ApplyResourceChangeRequest{
			TypeName: "knative_service", PriorState: priorState, PlannedState: &planned, Config: &planned, PlannedPrivate: prior[n].private,
		})
		if err == nil {
			err = diagnosticsError(resp.Diagnostics)
		}
		if err != nil {
			return fmt.Errorf("applying %s-%d: %w", prefix, n, err)
		}
		applied[n] = serviceState{resp.NewState, resp.Private}
		return nil
	})
	return applied
}

func deleteServices(b *testing.B, server tfprotov6.ProviderServer, states []serviceState) {
	typ := tftypes.Object{}
	if plan, _, err := provider.MinimalServicePlan("type"); err == nil {
		typ = plan.Raw.Type().(tftypes.Object)
	}
	none, err := tfprotov6.NewDynamicValue(typ, tftypes.NewValue(typ, nil))
	if err != nil {
		b.Fatal(err)
	}
	inParallel(b, len(states), func(n int) error {
		resp, err := server.ApplyResourceChange(context.Background(), &tfprotov6.ApplyResourceChangeRequest{
			TypeName: "knative_service", PriorState: states[n].state, PlannedState: &none, Config: &none, PlannedPrivate: states[n].private,
		})
		if err == nil {
			err = diagnosticsError(resp.Diagnostics)
		}
		if err != nil {
			return fmt.Errorf("deleting: %w", err)
		}
		return nil
	})
}

func diagnosticsError(diags []*tfprotov6.Diagnostic) error {
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			return fmt.Errorf("%s: %s", d.Summary, d.Detail)
		}
	}
	return nil
}

// writeServices writes the Services prefix-first to prefix-(end-1) that
// createServices would create, as the objects the resource applies.
func writeServices(b *testing.B, file, prefix string, first, end int, image string) {
	var out bytes.Buffer
	for n := first; n < end; n++ {
		_, obj, err := provider.ServicePlan(fmt.Sprintf("%s-%d", prefix, n), image)
		if err != nil {
			b.Fatal(err)
		}
		data, err := yaml.Marshal(obj)
		if err != nil {
			b.Fatal(err)
		}
		out.WriteString("---\n")
		out.Write(data)
	}
	if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
}

// inParallel runs work for 0..count-1 with terraform's default parallelism.
func inParallel(b *testing.B, count int, work func(n int) error) {
	var g errgroup.Group
	g.SetLimit(benchParallelism)
	for n := 0; n < count; n++ {
		g.Go(func() error { return work(n) })
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

// logged is timed, reported with what as soon as work ends.
func logged(b *testing.B, what string, work func()) time.Duration {
	took := timed(work)
	progress(b, "%s: %s", what, took.Round(100*time.Millisecond))
	return took
}

// progress prints a benchmark's figure as soon as it is measured. Printed,
// not logged: a benchmark's log appears only when it ends, so a run cut short
// at a size the cluster cannot hold would lose what it did measure.
func progress(b *testing.B, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s: %s\n", time.Now().Format(time.TimeOnly), b.Name(), fmt.Sprintf(format, args...))
}

// timed is how long work takes.
func timed(work func()) time.Duration {
	start := time.Now()
	work()
	return time.Since(start)
}
