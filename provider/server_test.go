package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/kube/kubetest"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/provider"
)

// apiStandIn answers every GET with one Ready Knative Service, whose URL and
// resourceVersion a test can change, and counts the GETs.
type apiStandIn struct {
	*httptest.Server
	gets atomic.Int64

	mu      sync.Mutex
	service map[string]any
	gone    bool
}

func newAPIStandIn(tb testing.TB) (*apiStandIn, tftypes.Value) {
	plan, obj, err := provider.MinimalServicePlan("hello")
	if err != nil {
		tb.Fatal(err)
	}
	meta := obj["metadata"].(map[string]any)
	meta["uid"], meta["resourceVersion"], meta["generation"] = "7f1c", "4711", 1
	obj["status"] = map[string]any{
		"url": "http://hello.default.example.com", "observedGeneration": 1,
		"latestReadyRevisionName": "hello-00001", "latestCreatedRevisionName": "hello-00001",
		"address": map[string]any{"url": "http://hello.default.svc.cluster.local"},
		"conditions": []any{
			map[string]any{"type": "ConfigurationsReady", "status": "True"},
			map[string]any{"type": "Ready", "status": "True"},
			map[string]any{"type": "RoutesReady", "status": "True"},
		},
		"traffic": []any{map[string]any{"revisionName": "hello-00001", "percent": 100, "latestRevision": true}},
	}
	api := &apiStandIn{service: obj}
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api.gets.Add(1)
		api.mu.Lock()
		defer api.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if api.gone || r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`))
			return
		}
		_ = json.NewEncoder(w).Encode(api.service)
	}))
	tb.Cleanup(api.Close)
	return api, plan.Raw
}

// change sets the Service's status URL and resourceVersion.
func (a *apiStandIn) change(url, resourceVersion string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.service["status"].(map[string]any)["url"] = url
	a.service["metadata"].(map[string]any)["resourceVersion"] = resourceVersion
}

// encoded is planned as terraform sends it.
func encoded(tb testing.TB, planned tftypes.Value) *tfprotov6.DynamicValue {
	value, err := tfprotov6.NewDynamicValue(planned.Type(), planned)
	if err != nil {
		tb.Fatal(err)
	}
	return &value
}

func (a *apiStandIn) config() *rest.Config {
	return &rest.Config{Host: a.URL, QPS: 1e6, Burst: 1e6}
}

// server is the provider's protocol server, configured for the stand-in.
func (a *apiStandIn) server(tb testing.TB) tfprotov6.ProviderServer {
	clients, err := kube.ClientsFor(a.config(), kube.DefaultFieldManager)
	if err != nil {
		tb.Fatal(err)
	}
	server := provider.ProtocolServerFor(clients)
	config, err := provider.EmptyProviderConfig()
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := server.ConfigureProvider(context.Background(), &tfprotov6.ConfigureProviderRequest{Config: config})
	if err == nil {
		err = diagnosticsError(resp.Diagnostics)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return server
}

func readService(tb testing.TB, server tfprotov6.ProviderServer, state *tfprotov6.DynamicValue, private []byte) *tfprotov6.ReadResourceResponse {
	resp, err := server.ReadResource(context.Background(), &tfprotov6.ReadResourceRequest{
		TypeName: "knative_service", CurrentState: state, Private: private,
	})
	answered(tb, err, func() []*tfprotov6.Diagnostic { return resp.Diagnostics })
	return resp
}

// answered fails tb when a request failed or its response has an error.
func answered(tb testing.TB, err error, diagnostics func() []*tfprotov6.Diagnostic) {
	tb.Helper()
	if err == nil {
		err = diagnosticsError(diagnostics())
	}
	if err != nil {
		tb.Fatal(err)
	}
}

// A refresh is one GET. When the Service is the version the state came from,
// the state is kept as it is; any other version is read into the state.
func TestServiceRefreshKeepsStateOfTheSameVersion(t *testing.T) {
	api, planned := newAPIStandIn(t)
	server := api.server(t)
	typ := planned.Type()
	state := encoded(t, planned)
	url := func(resp *tfprotov6.ReadResourceResponse) string {
		value, err := resp.NewState.Unmarshal(typ)
		if err != nil {
			t.Fatal(err)
		}
		var attributes map[string]tftypes.Value
		var s string
		if err := value.As(&attributes); err != nil || attributes["url"].As(&s) != nil {
			t.Fatalf("state without url: %v", value)
		}
		return s
	}

	first := readService(t, server, state, nil)
	if got := url(first); got != "http://hello.default.example.com" || api.gets.Load() != 1 {
		t.Fatalf("first refresh: url %q after %d GETs", got, api.gets.Load())
	}
	if !strings.Contains(string(first.Private), "observed") {
		t.Fatalf("the refresh recorded no observed version in private state %s", first.Private)
	}

	// The stand-in changes the status without a new resourceVersion, which the
	// API server never does: only the kept state can explain the old URL.
	api.change("http://changed.example.com", "4711")
	same := readService(t, server, first.NewState, first.Private)
	if !bytes.Equal(same.NewState.MsgPack, first.NewState.MsgPack) || !bytes.Equal(same.Private, first.Private) {
		t.Errorf("a refresh of the same version changed the state (url %q)", url(same))
	}
	if api.gets.Load() != 2 {
		t.Errorf("the refresh made %d GETs, want 1", api.gets.Load()-1)
	}

	api.change("http://changed.example.com", "4712")
	changed := readService(t, server, same.NewState, same.Private)
	if got := url(changed); got != "http://changed.example.com" {
		t.Errorf("a refresh of a new version kept url %q", got)
	}
	if api.gets.Load() != 3 {
		t.Errorf("the refresh of a changed Service made %d GETs, want 1", api.gets.Load()-2)
	}
	if !strings.Contains(string(changed.Private), "observed") || bytes.Equal(changed.Private, first.Private) {
		t.Errorf("the refresh did not record the new version: %s", changed.Private)
	}

	api.mu.Lock()
	api.gone = true
	api.mu.Unlock()
	gone := readService(t, server, changed.NewState, changed.Private)
	value, err := gone.NewState.Unmarshal(typ)
	if err != nil || !value.IsNull() {
		t.Errorf("a Service deleted out of band is still in state: %v %v", value, err)
	}
	if api.gets.Load() != 4 {
		t.Errorf("the refresh of a deleted Service made %d GETs, want 1", api.gets.Load()-3)
	}
}

// stateJSON is value as terraform stores it in a state file.
func stateJSON(tb testing.TB, value tftypes.Value) []byte {
	var plain func(v tftypes.Value) any
	plain = func(v tftypes.Value) any {
		if v.IsNull() {
			return nil
		}
		switch {
		case v.Type().Is(tftypes.String):
			var s string
			_ = v.As(&s)
			return s
		case v.Type().Is(tftypes.Bool):
			var b bool
			_ = v.As(&b)
			return b
		case v.Type().Is(tftypes.Number):
			var n big.Float
			_ = v.As(&n)
			return json.Number(n.Text('f', -1))
		case v.Type().Is(tftypes.Object{}) || v.Type().Is(tftypes.Map{}):
			var attributes map[string]tftypes.Value
			_ = v.As(&attributes)
			out := map[string]any{}
			for name, a := range attributes {
				out[name] = plain(a)
			}
			return out
		}
		var elements []tftypes.Value
		_ = v.As(&elements)
		out := []any{}
		for _, e := range elements {
			out = append(out, plain(e))
		}
		return out
	}
	data, err := json.Marshal(plain(value))
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

func upgradeService(t *testing.T, server tfprotov6.ProviderServer, version int64, raw []byte) *tfprotov6.UpgradeResourceStateResponse {
	t.Helper()
	resp, err := server.UpgradeResourceState(context.Background(), &tfprotov6.UpgradeResourceStateRequest{
		TypeName: "knative_service", Version: version, RawState: &tfprotov6.RawState{JSON: raw},
	})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// A state stored by the current schema version is upgraded by passing its
// JSON through, which terraform reads as the value the framework would have
// answered; a state with an attribute the schema lacks, of the wrong shape or
// of another version is the framework's.
func TestUpgradeResourceStatePassesCurrentStatesThrough(t *testing.T) {
	api, planned := newAPIStandIn(t)
	server := api.server(t)
	typ := planned.Type()
	config := encoded(t, planned)
	state, err := readService(t, server, config, nil).NewState.Unmarshal(typ)
	if err != nil {
		t.Fatal(err)
	}
	raw := stateJSON(t, state)

	upgraded := upgradeService(t, server, 0, raw)
	if !bytes.Equal(upgraded.UpgradedState.JSON, raw) || len(upgraded.Diagnostics) > 0 {
		t.Fatalf("a current state was not passed through: %v", upgraded.Diagnostics)
	}
	if value, err := upgraded.UpgradedState.Unmarshal(typ); err != nil || !value.Equal(state) {
		t.Fatalf("the state passed through reads as %v (%v), want %v", value, err, state)
	}

	edited := func(edit func(state map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	for name, retired := range map[string][]byte{
		"top level": edited(func(m map[string]any) { m["retired"] = "x" }),
		"nested": edited(func(m map[string]any) {
			m["template"].(map[string]any)["containers"].([]any)[0].(map[string]any)["retired"] = 1
		}),
	} {
		resp := upgradeService(t, server, 0, retired)
		if resp.UpgradedState.JSON != nil || len(resp.Diagnostics) > 0 {
			t.Fatalf("%s: a state with an attribute the schema lacks was passed through (%v)", name, resp.Diagnostics)
		}
		if value, err := resp.UpgradedState.Unmarshal(typ); err != nil || !value.Equal(state) {
			t.Fatalf("%s: the framework did not drop the retired attribute: %v", name, err)
		}
	}
	if resp := upgradeService(t, server, 0, edited(func(m map[string]any) { m["name"] = 5 })); resp.UpgradedState != nil && resp.UpgradedState.JSON != nil {
		t.Fatal("a state of the wrong shape was passed through")
	}
	if resp := upgradeService(t, server, 1, raw); !hasError(resp.Diagnostics) {
		t.Fatal("a state of another schema version was passed through")
	}
}

func hasError(diags []*tfprotov6.Diagnostic) bool { return diagnosticsError(diags) != nil }

// cpuRounds are the rounds of each iteration of the CPU benchmarks, so that
// make bench runs every provider benchmark once (-benchtime 1x) and these
// still average over many requests.
const cpuRounds = 200

// BenchmarkServiceRefreshCPU splits the CPU cost of refreshing a Service,
// without a cluster (the stand-in answers GETs): a refresh of an unchanged
// Service (the server's shortcut), a refresh the plugin framework handles
// whole (no version recorded yet: decode, the resource's Read, checks,
// encode), and, alternately in the same loop, the same GET by a plain
// dynamic client, the floor both are reported against.
func BenchmarkServiceRefreshCPU(b *testing.B) {
	api, planned := newAPIStandIn(b)
	server := api.server(b)
	state := encoded(b, planned)
	first := readService(b, server, state, nil)
	plain, err := dynamic.NewForConfig(api.config())
	if err != nil {
		b.Fatal(err)
	}
	get := func() {
		if _, err := plain.Resource(serving.ServicesGVR).Namespace("default").Get(context.Background(), "hello", metav1.GetOptions{}); err != nil {
			b.Fatal(err)
		}
	}

	var unchanged, framework, gets time.Duration
	b.ResetTimer()
	for i := 0; i < b.N*cpuRounds; i++ {
		unchanged += timed(func() { readService(b, server, first.NewState, first.Private) })
		gets += timed(get)
		framework += timed(func() { readService(b, server, first.NewState, nil) })
		gets += timed(get)
	}
	b.StopTimer()
	gets /= 2
	perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N*cpuRounds) }
	b.ReportMetric(perOp(unchanged), "unchanged-us/refresh")
	b.ReportMetric(perOp(framework), "framework-us/refresh")
	b.ReportMetric(perOp(gets), "plain-get-us")
	b.ReportMetric(unchanged.Seconds()/gets.Seconds(), "unchanged-ratio")
	b.ReportMetric(framework.Seconds()/gets.Seconds(), "framework-ratio")
}

// planService asks the server to plan a Service whose configuration is
// unchanged: the proposed new state is the prior state, as terraform sends it.
func planService(tb testing.TB, server tfprotov6.ProviderServer, config, prior *tfprotov6.DynamicValue, private []byte) *tfprotov6.PlanResourceChangeResponse {
	resp, err := server.PlanResourceChange(context.Background(), &tfprotov6.PlanResourceChangeRequest{
		TypeName: "knative_service", PriorState: prior, ProposedNewState: prior, Config: config, PriorPrivate: private,
	})
	answered(tb, err, func() []*tfprotov6.Diagnostic { return resp.Diagnostics })
	return resp
}

// The plan of a Service whose configuration changes nothing is its prior
// state, without the framework, only when Knative had it Ready; any change,
// or a Service that is not Ready (an update that waits again), is the
// framework's.
func TestServicePlanOfAnUnchangedService(t *testing.T) {
	api, planned := newAPIStandIn(t)
	server := api.server(t)
	config := encoded(t, planned)
	first := readService(t, server, config, nil)
	plan := planService(t, server, config, first.NewState, first.Private)
	if !bytes.Equal(plan.PlannedState.MsgPack, first.NewState.MsgPack) || !bytes.Equal(plan.PlannedPrivate, first.Private) || len(plan.RequiresReplace) > 0 {
		t.Fatal("the plan of an unchanged Ready Service is not its prior state")
	}
	// The framework plans the same: what the shortcut answers is what it would.
	framework := planService(t, server, config, first.NewState, nil)
	if !bytes.Equal(framework.PlannedState.MsgPack, first.NewState.MsgPack) {
		t.Fatal("the framework plans a change of an unchanged Ready Service")
	}

	// Not Ready: the framework plans an update that waits again.
	api.mu.Lock()
	api.service["status"].(map[string]any)["conditions"] = []any{map[string]any{"type": "Ready", "status": "False", "reason": "RevisionFailed", "message": "no image"}}
	api.service["metadata"].(map[string]any)["resourceVersion"] = "4712"
	api.mu.Unlock()
	failed := readService(t, server, first.NewState, first.Private)
	update := planService(t, server, config, failed.NewState, failed.Private)
	if bytes.Equal(update.PlannedState.MsgPack, failed.NewState.MsgPack) {
		t.Error("the plan of an unchanged Service that is not Ready is no update")
	}
}

// BenchmarkServicePlanCPU is the provider's CPU per unchanged knative_service
// in a plan, without a cluster (the stand-in answers GETs): everything
// terraform asks of it (the state's upgrade, the refresh, the validation of
// the configuration, the plan) through the provider's server, and the same
// requests straight to the plugin framework, against a plain dynamic
// client's GET of the Service in the same loop.
func BenchmarkServicePlanCPU(b *testing.B) {
	api, planned := newAPIStandIn(b)
	server := api.server(b)
	framework := provider.FrameworkOf(server)
	config := encoded(b, planned)
	first := readService(b, server, config, nil)
	private := provider.WithValidatedConfig(first.Private, "knative_service", config)
	value, err := first.NewState.Unmarshal(planned.Type())
	if err != nil {
		b.Fatal(err)
	}
	stored := stateJSON(b, value)
	plain, err := dynamic.NewForConfig(api.config())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	plan := func(server tfprotov6.ProviderServer) {
		upgraded, err := server.UpgradeResourceState(ctx, &tfprotov6.UpgradeResourceStateRequest{
			TypeName: "knative_service", RawState: &tfprotov6.RawState{JSON: stored},
		})
		answered(b, err, func() []*tfprotov6.Diagnostic { return upgraded.Diagnostics })
		refreshed := readService(b, server, first.NewState, private)
		validated, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "knative_service", Config: config})
		answered(b, err, func() []*tfprotov6.Diagnostic { return validated.Diagnostics })
		planService(b, server, config, refreshed.NewState, refreshed.Private)
	}
	get := func() {
		if _, err := plain.Resource(serving.ServicesGVR).Namespace("default").Get(ctx, "hello", metav1.GetOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	var ours, frameworks, gets time.Duration
	b.ResetTimer()
	for i := 0; i < b.N*cpuRounds; i++ {
		ours += timed(func() { plan(server) })
		frameworks += timed(func() { plan(framework) })
		gets += timed(get)
	}
	b.StopTimer()
	perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N*cpuRounds) }
	b.ReportMetric(perOp(ours), "unchanged-plan-us")
	b.ReportMetric(perOp(frameworks), "framework-plan-us")
	b.ReportMetric(perOp(gets), "plain-get-us")
	b.ReportMetric(ours.Seconds()/gets.Seconds(), "plan-vs-plain-get")
	b.ReportMetric(frameworks.Seconds()/ours.Seconds(), "framework-vs-unchanged-plan")
}

// A mapping's refresh keeps its state while the mapping is the version the
// state came from and the namespace still holds the domain's claim (a GET of
// each); a claim gone or a new version is read into the state.
func TestDomainMappingRefreshKeepsStateWhileTheClaimStands(t *testing.T) {
	const domain = "hello.example.org"
	ctx := context.Background()
	cluster := kubetest.New()
	mapping := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": serving.DomainMappingsGVR.GroupVersion().String(), "kind": "DomainMapping",
		"metadata": map[string]any{"namespace": "default", "name": domain, "uid": "d0d0", "resourceVersion": "10", "generation": int64(1)},
		"spec":     map[string]any{"ref": map[string]any{"apiVersion": "serving.knative.dev/v1", "kind": "Service", "name": "hello"}},
		"status": map[string]any{
			"observedGeneration": int64(1), "url": "http://" + domain,
			"conditions": []any{map[string]any{"type": "Ready", "status": "True"}},
		},
	}}
	cluster.Put(serving.DomainMappingsGVR, mapping.DeepCopy())
	cluster.Put(serving.ClusterDomainClaimsGVR, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": serving.ClusterDomainClaimsGVR.GroupVersion().String(), "kind": "ClusterDomainClaim",
		"metadata": map[string]any{"name": domain, "uid": "c1a1", "resourceVersion": "11"},
		"spec":     map[string]any{"namespace": "default"},
	}})
	server := provider.ProtocolServerFor(cluster.Clients)
	config, err := provider.EmptyProviderConfig()
	if err != nil {
		t.Fatal(err)
	}
	configured, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: config})
	answered(t, err, func() []*tfprotov6.Diagnostic { return configured.Diagnostics })
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ := schemas.ResourceSchemas["knative_domain_mapping"].ValueType()
	imported, err := server.ImportResourceState(ctx, &tfprotov6.ImportResourceStateRequest{TypeName: "knative_domain_mapping", ID: "default/" + domain})
	answered(t, err, func() []*tfprotov6.Diagnostic { return imported.Diagnostics })

	gets := func() int {
		n := 0
		for _, a := range cluster.Dynamic.Actions() {
			if a.GetVerb() == "get" {
				n++
			}
		}
		return n
	}
	refresh := func(state *tfprotov6.DynamicValue, private []byte) (*tfprotov6.ReadResourceResponse, int) {
		t.Helper()
		before := gets()
		resp, err := server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: "knative_domain_mapping", CurrentState: state, Private: private})
		answered(t, err, func() []*tfprotov6.Diagnostic { return resp.Diagnostics })
		return resp, gets() - before
	}
	attribute := func(resp *tfprotov6.ReadResourceResponse, name string) tftypes.Value {
		t.Helper()
		value, err := resp.NewState.Unmarshal(typ)
		var attributes map[string]tftypes.Value
		if err != nil || value.As(&attributes) != nil {
			t.Fatalf("state %v: %v", value, err)
		}
		return attributes[name]
	}
	unchanged := func(step string, resp, prior *tfprotov6.ReadResourceResponse) {
		t.Helper()
		if !bytes.Equal(resp.NewState.MsgPack, prior.NewState.MsgPack) || !bytes.Equal(resp.Private, prior.Private) {
			t.Errorf("%s: the refresh changed the state", step)
		}
	}

	first, _ := refresh(imported.ImportedResources[0].State, imported.ImportedResources[0].Private)
	if !attribute(first, "claim_domain").Equal(tftypes.NewValue(tftypes.Bool, true)) || !strings.Contains(string(first.Private), "observed") {
		t.Fatalf("the first refresh: claim_domain %v, private state %s", attribute(first, "claim_domain"), first.Private)
	}
	// The status changes without a new resourceVersion, which the API server
	// never does: only the kept state can explain the old URL.
	mapping.Object["status"].(map[string]any)["url"] = "https://" + domain
	cluster.Put(serving.DomainMappingsGVR, mapping.DeepCopy())
	same, requests := refresh(first.NewState, first.Private)
	unchanged("the same version and claim", same, first)
	if requests != 2 {
		t.Errorf("the refresh of the same version made %d GETs, want 2 (the mapping and its claim)", requests)
	}

	if err := cluster.Dynamic.Tracker().Delete(serving.ClusterDomainClaimsGVR, "", domain); err != nil {
		t.Fatal(err)
	}
	unclaimed, _ := refresh(same.NewState, same.Private)
	if !attribute(unclaimed, "claim_domain").Equal(tftypes.NewValue(tftypes.Bool, false)) {
		t.Errorf("a claim deleted out of band left claim_domain %v", attribute(unclaimed, "claim_domain"))
	}
	// The state no longer says the namespace holds the claim: nothing to read
	// of it while the mapping stays the same.
	again, requests := refresh(unclaimed.NewState, unclaimed.Private)
	unchanged("the same version, no claim recorded", again, unclaimed)
	if requests != 1 {
		t.Errorf("the refresh of a mapping recorded without its claim made %d GETs, want 1", requests)
	}

	mapping.Object["metadata"].(map[string]any)["resourceVersion"] = "12"
	cluster.Put(serving.DomainMappingsGVR, mapping.DeepCopy())
	changed, _ := refresh(again.NewState, again.Private)
	if got := attribute(changed, "url"); !got.Equal(tftypes.NewValue(tftypes.String, "https://"+domain)) {
		t.Errorf("a refresh of a new version kept url %v", got)
	}
	if bytes.Equal(changed.Private, again.Private) {
		t.Error("the refresh did not record the new version")
	}
}
