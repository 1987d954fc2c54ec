package provider_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/provider"
)

// BenchmarkTerraformPlan times whole `terraform plan` runs of N unchanged
// knative_service (100, or KNATIVE_BENCH_PLAN_SERVICES) against the floor the
// issue sets: the same plan of as many terraform_data plus N plain GETs of the
// Services at terraform's parallelism (goal: within 2x), with and without
// refresh, in the same run. A second configuration plans a knative_route and
// a knative_domain_mapping per ten of those Services (at least one each). The
// provider is served in this process, so its CPU and each kind's time in it
// are measured, and terraform's (a child process) beside them.
//
// Two more plans of the Services' configuration and state show what
// terraform itself needs, whatever the provider does: one through a provider
// with the same schemas that answers every request with what terraform sent
// (echo: the floor for any provider of these schemas), and one through such a
// provider whose knative_service has only id, name and namespace (minimal:
// what terraform spends on any plugin's resource, against the terraform_data
// its own process serves).
func BenchmarkTerraformPlan(b *testing.B) {
	count := benchInt("KNATIVE_BENCH_PLAN_SERVICES", 100)
	pairs := (count + 9) / 10 // a Route and a DomainMapping per ten Services
	const namespace = "bench-plan"
	c, _, _ := benchServiceServer(b) // Knative Serving installed afresh
	clients := c.Clients(b)
	ctx := context.Background()
	if _, err := clients.Kubernetes.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}, metav1.CreateOptions{}); err != nil && !strings.Contains(err.Error(), "already exists") {
		b.Fatal(err)
	}

	servicesConfig := func(template string) string {
		return fmt.Sprintf(`%s
resource "knative_service" "s" {
  count     = %d
  name      = "plan-${count.index}"
  namespace = %q
%s}
`, providerRequirement+c.ProviderBlock(), count, namespace, template)
	}
	services := b.TempDir()
	writeFile(b, filepath.Join(services, "main.tf"), servicesConfig(`  template = {
    containers = [{ image = "kind.local/hello:v1" }]
  }
`))
	routing := b.TempDir()
	writeFile(b, filepath.Join(routing, "main.tf"), providerRequirement+c.ProviderBlock()+routesAndMappings(pairs, namespace))
	data := b.TempDir()
	writeFile(b, filepath.Join(data, "main.tf"), fmt.Sprintf(`resource "terraform_data" "d" {
  count = %d
  input = "plan-${count.index}"
}
`, count))

	kinds := &timePerKind{}
	timedServer := func() tfprotov6.ProviderServer { return timedProvider{provider.NewServer("bench")(), kinds} }
	tf := acctest.ServeTerraform(b, services, timedServer)
	routes := acctest.ServeTerraform(b, routing, timedServer)
	floor := acctest.ServeTerraform(b, data, provider.NewServer("bench"))
	for _, cli := range []*acctest.Terraform{tf, routes, floor} {
		cli.Run(b, "init", "-input=false")
	}
	b.Logf("applying %d Services, %d Routes and %d DomainMappings", count, pairs, pairs)
	applied := tf.Run(b, "apply", "-auto-approve", "-input=false")
	b.Cleanup(func() { tf.Run(b, "destroy", "-auto-approve", "-input=false") })
	applied += routes.Run(b, "apply", "-auto-approve", "-input=false")
	b.Cleanup(func() { routes.Run(b, "destroy", "-auto-approve", "-input=false") }) // before the Services'
	floor.Run(b, "apply", "-auto-approve", "-input=false")
	b.Logf("applied in %s", applied.Round(time.Second))
	// The first plan records each object's Ready verdict where the apply
	// saw none yet; the plans below are of a settled estate.
	tf.Run(b, "plan", "-input=false", "-detailed-exitcode")
	routes.Run(b, "plan", "-input=false", "-detailed-exitcode")

	// The Services' configuration and state, through providers that answer
	// every request with what terraform sent.
	state := readFile(b, filepath.Join(services, "terraform.tfstate"))
	schemaFloor := acctest.ServeTerraform(b, rootWith(b, readFile(b, filepath.Join(services, "main.tf")), state),
		func() tfprotov6.ProviderServer { return echo{provider.NewServer("bench")()} })
	protocolFloor := acctest.ServeTerraform(b, rootWith(b, servicesConfig(""), minimalState(b, state)),
		func() tfprotov6.ProviderServer { return minimal{echo{provider.NewServer("bench")()}} })
	schemaFloor.Run(b, "init", "-input=false")
	protocolFloor.Run(b, "init", "-input=false")

	plain, err := dynamic.NewForConfig(unthrottled(b, c, nil))
	if err != nil {
		b.Fatal(err)
	}
	var getLatency atomic.Int64
	gets := func() {
		inParallel(b, count, func(n int) error {
			start := time.Now()
			_, err := plain.Resource(serving.ServicesGVR).Namespace(namespace).Get(ctx, fmt.Sprintf("plan-%d", n), metav1.GetOptions{})
			getLatency.Add(int64(time.Since(start)))
			return err
		})
	}
	var plan, planNoRefresh, dataPlan, schemaPlan, minimalPlan, routingPlan, getFloor, providerCPU, terraformCPU, dataCPU, schemaCPU, minimalCPU time.Duration
	var planPeakRSS float64
	if file := os.Getenv("KNATIVE_BENCH_PLAN_CPUPROFILE"); file != "" {
		stop := profileCPU(b, file) // of the provider's part in the plans alone
		defer stop()
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		before := cpuTime()
		resetPeakRSS()
		kinds.timing.Store(true)
		plan += tf.Run(b, "plan", "-input=false", "-detailed-exitcode")
		kinds.timing.Store(false)
		providerCPU += cpuTime() - before
		planPeakRSS = max(planPeakRSS, peakRSSMiB())
		terraformCPU += tf.LastCPU
		planNoRefresh += tf.Run(b, "plan", "-input=false", "-detailed-exitcode", "-refresh=false")
		dataPlan += floor.Run(b, "plan", "-input=false", "-detailed-exitcode")
		dataCPU += floor.LastCPU
		schemaPlan += schemaFloor.Run(b, "plan", "-input=false", "-detailed-exitcode")
		schemaCPU += schemaFloor.LastCPU
		minimalPlan += protocolFloor.Run(b, "plan", "-input=false", "-detailed-exitcode")
		minimalCPU += protocolFloor.LastCPU
		getFloor += timed(gets)
		kinds.timing.Store(true)
		routingPlan += routes.Run(b, "plan", "-input=false", "-detailed-exitcode")
		kinds.timing.Store(false)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(plan.Seconds()/n, "plan-s")
	b.ReportMetric(planNoRefresh.Seconds()/n, "plan-no-refresh-s")
	b.ReportMetric(dataPlan.Seconds()/n, "terraform_data-plan-s")
	b.ReportMetric(getFloor.Seconds()/n, "plain-gets-s")
	b.ReportMetric(plan.Seconds()/(dataPlan+getFloor).Seconds(), "ratio-vs-floor")
	// terraform's own work for these schemas is part of any provider's plan;
	// this is the ratio to what a provider of them could reach at best.
	b.ReportMetric(schemaPlan.Seconds()/n, "schema-floor-plan-s")
	b.ReportMetric(plan.Seconds()/(schemaPlan+getFloor).Seconds(), "ratio-vs-schema-floor")
	b.ReportMetric(minimalPlan.Seconds()/n, "minimal-schema-plan-s")
	b.ReportMetric(planNoRefresh.Seconds()/dataPlan.Seconds(), "no-refresh-ratio-vs-terraform_data")
	b.ReportMetric(routingPlan.Seconds()/n, "routing-plan-s")
	resources := float64(count)
	b.ReportMetric(float64(providerCPU.Microseconds())/1000/n/resources, "provider-cpu-ms/resource")
	// Where the rest goes: terraform's own CPU per resource, for the
	// Services, through the echo, through the minimal schema, and per
	// terraform_data.
	b.ReportMetric(float64(terraformCPU.Microseconds())/1000/n/resources, "terraform-cpu-ms/resource")
	b.ReportMetric(float64(schemaCPU.Microseconds())/1000/n/resources, "terraform-cpu-ms/schema-floor-resource")
	b.ReportMetric(float64(minimalCPU.Microseconds())/1000/n/resources, "terraform-cpu-ms/minimal-schema-resource")
	b.ReportMetric(float64(dataCPU.Microseconds())/1000/n/resources, "terraform-cpu-ms/terraform_data")
	b.ReportMetric(float64(len(state))/1024/resources, "state-KiB/resource")
	// Each kind's time in the provider (every request of a resource's plan,
	// its GET included) against a plain GET's latency at the same parallelism.
	get := float64(getLatency.Load()) / n / float64(count)
	b.ReportMetric(get/1e6, "plain-get-ms")
	for kind, resources := range map[string]int{"knative_service": count, "knative_route": pairs, "knative_domain_mapping": pairs} {
		perResource := float64(kinds.total(kind)) / n / float64(resources)
		b.ReportMetric(perResource/1e6, "provider-ms/"+kind)
		b.ReportMetric(perResource/get, "provider-vs-plain-get/"+kind)
	}
	if planPeakRSS > 0 {
		b.ReportMetric(planPeakRSS, "plan-peak-rss-MiB")
	}
	b.ReportMetric(processPeakRSSMiB(), "process-peak-rss-MiB")
}

const providerRequirement = `terraform {
  required_providers {
    knative = { source = "tf-knative/knative" }
  }
}
`

// rootWith is a new root module with config and state.
func rootWith(tb testing.TB, config, state string) string {
	dir := tb.TempDir()
	writeFile(tb, filepath.Join(dir, "main.tf"), config)
	writeFile(tb, filepath.Join(dir, "terraform.tfstate"), state)
	return dir
}

// minimalAttributes are the attributes minimal's knative_service keeps.
var minimalAttributes = []string{"id", "name", "namespace"}

// minimalState is state with only the minimalAttributes of each resource.
func minimalState(tb testing.TB, state string) string {
	var whole map[string]any
	if err := json.Unmarshal([]byte(state), &whole); err != nil {
		tb.Fatal(err)
	}
	for _, resource := range whole["resources"].([]any) {
		for _, instance := range resource.(map[string]any)["instances"].([]any) {
			attributes := instance.(map[string]any)["attributes"].(map[string]any)
			for name := range attributes {
				if !slices.Contains(minimalAttributes, name) {
					delete(attributes, name)
				}
			}
		}
	}
	out, err := json.Marshal(whole)
	if err != nil {
		tb.Fatal(err)
	}
	return string(out)
}

// profileCPU writes this process's CPU profile to file until stop is called.
func profileCPU(tb testing.TB, file string) (stop func()) {
	out, err := os.Create(file)
	if err != nil {
		tb.Fatal(err)
	}
	if err := pprof.StartCPUProfile(out); err != nil {
		tb.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		_ = out.Close()
	}
}

// echo has the provider's schemas and answers each resource's requests with
// what terraform sent: nothing to validate, the state as read, the prior
// state as the plan. A plan through it is terraform's own work for these
// schemas, which no provider of them goes below.
type echo struct{ tfprotov6.ProviderServer }

func (echo) ValidateResourceConfig(context.Context, *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return &tfprotov6.ValidateResourceConfigResponse{}, nil
}

func (echo) UpgradeResourceState(_ context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return &tfprotov6.UpgradeResourceStateResponse{UpgradedState: &tfprotov6.DynamicValue{JSON: req.RawState.JSON}}, nil
}

func (echo) ReadResource(_ context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return &tfprotov6.ReadResourceResponse{NewState: req.CurrentState, Private: req.Private}, nil
}

func (echo) PlanResourceChange(_ context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return &tfprotov6.PlanResourceChangeResponse{PlannedState: req.PriorState, PlannedPrivate: req.PriorPrivate}, nil
}

// minimal is echo with a knative_service of the minimalAttributes alone:
// what terraform spends on a resource of any plugin, schema aside.
type minimal struct{ echo }

func (m minimal) GetProviderSchema(ctx context.Context, req *tfprotov6.GetProviderSchemaRequest) (*tfprotov6.GetProviderSchemaResponse, error) {
	resp, err := m.echo.GetProviderSchema(ctx, req)
	if err != nil || resp.ResourceSchemas["knative_service"] == nil {
		return resp, err
	}
	full := resp.ResourceSchemas["knative_service"]
	kept := &tfprotov6.Schema{Version: full.Version, Block: &tfprotov6.SchemaBlock{}}
	for _, attribute := range full.Block.Attributes {
		if slices.Contains(minimalAttributes, attribute.Name) {
			kept.Block.Attributes = append(kept.Block.Attributes, attribute)
		}
	}
	resp.ResourceSchemas["knative_service"] = kept
	return resp, nil
}

// timedProvider adds up, per resource type, the time the provider spends
// answering what terraform asks of a resource in a plan.
type timedProvider struct {
	tfprotov6.ProviderServer
	kinds *timePerKind
}

type timePerKind struct {
	timing atomic.Bool
	totals sync.Map // type name -> *atomic.Int64 (nanoseconds)
}

func (k *timePerKind) since(typeName string, start time.Time) {
	if !k.timing.Load() {
		return
	}
	total, _ := k.totals.LoadOrStore(typeName, new(atomic.Int64))
	total.(*atomic.Int64).Add(int64(time.Since(start)))
}

func (k *timePerKind) total(typeName string) time.Duration {
	if total, ok := k.totals.Load(typeName); ok {
		return time.Duration(total.(*atomic.Int64).Load())
	}
	return 0
}

// timedRequest is call(ctx, req), its time added to typeName's.
func timedRequest[Req, Resp any](kinds *timePerKind, typeName string, call func(context.Context, Req) (Resp, error), ctx context.Context, req Req) (Resp, error) {
	defer kinds.since(typeName, time.Now())
	return call(ctx, req)
}

func (p timedProvider) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return timedRequest(p.kinds, req.TypeName, p.ProviderServer.ValidateResourceConfig, ctx, req)
}

func (p timedProvider) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return timedRequest(p.kinds, req.TypeName, p.ProviderServer.UpgradeResourceState, ctx, req)
}

func (p timedProvider) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return timedRequest(p.kinds, req.TypeName, p.ProviderServer.ReadResource, ctx, req)
}

func (p timedProvider) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return timedRequest(p.kinds, req.TypeName, p.ProviderServer.PlanResourceChange, ctx, req)
}

// resetPeakRSS starts this process's peak resident set size (VmHWM) over
// from its current size (Linux 4.0 and later), so that peakRSSMiB is the
// peak of what follows: a plan, not the apply before it.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMiB is VmHWM from /proc/self/status (0 where there is none).
func peakRSSMiB() float64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

// cpuTime is this process's CPU time so far (user and system).
func cpuTime() time.Duration {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return time.Duration(usage.Utime.Nano() + usage.Stime.Nano())
}

// processPeakRSSMiB is the process's peak resident set since it started,
// which resetPeakRSS does not touch.
func processPeakRSSMiB() float64 {
	var usage syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &usage) != nil {
		return 0
	}
	return float64(usage.Maxrss) / 1024
}

func readFile(tb testing.TB, name string) string {
	tb.Helper()
	content, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return string(content)
}

func writeFile(tb testing.TB, name, content string) {
	tb.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// routesAndMappings are n knative_route (each to the configuration of a
// Service plan-<index>) and n knative_domain_mapping (each to such a Service).
func routesAndMappings(n int, namespace string) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(`
resource "knative_route" "r" {
  count     = %[1]d
  name      = "plan-route-${count.index}"
  namespace = %[2]q
  traffic   = [{ configuration_name = "plan-${count.index}", percent = 100 }]
}

resource "knative_domain_mapping" "m" {
  count     = %[1]d
  name      = "plan-${count.index}.bench.example.org"
  namespace = %[2]q
  ref       = { name = "plan-${count.index}" }
}
`, n, namespace)
}
