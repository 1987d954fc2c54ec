package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/provider"
)

// BenchmarkServiceRefreshCPU splits the cost of refreshing an unchanged
// Service without a cluster: an API server stand-in answers GETs with a
// canned Ready Service. It alternates a ReadResource call through the
// provider's protocol server with the same GET by a plain dynamic client, and
// reports the resource's own Read (GET included) and the whole call (the
// plugin framework's decoding, checks and encoding of the state included),
// each against the plain GET.
func BenchmarkServiceRefreshCPU(b *testing.B) {
	plan, obj, err := provider.MinimalServicePlan("hello")
	if err != nil {
		b.Fatal(err)
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
	body, err := json.Marshal(obj)
	if err != nil {
		b.Fatal(err)
	}
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer api.Close()
	cfg := &rest.Config{Host: api.URL, QPS: 1e6, Burst: 1e6}
	clients, err := kube.ClientsFor(cfg, kube.DefaultFieldManager)
	if err != nil {
		b.Fatal(err)
	}
	plain, err := dynamic.NewForConfig(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	readTime := &atomic.Int64{}
	server := provider.ProtocolServerFor(clients, readTime)
	config, err := provider.EmptyProviderConfig()
	if err != nil {
		b.Fatal(err)
	}
	if resp, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: config}); err != nil || diagnosticsError(resp.Diagnostics) != nil {
		b.Fatal(err, resp)
	}
	state, err := tfprotov6.NewDynamicValue(plan.Raw.Type(), plan.Raw)
	if err != nil {
		b.Fatal(err)
	}
	// The first refresh computes the state and records the version it saw.
	first, err := server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: "knative_service", CurrentState: &state})
	if err == nil {
		err = diagnosticsError(first.Diagnostics)
	}
	if err != nil {
		b.Fatal(err)
	}

	var calls, gets time.Duration
	readTime.Store(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		resp, err := server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{
			TypeName: "knative_service", CurrentState: first.NewState, Private: first.Private,
		})
		calls += time.Since(start)
		if err == nil {
			err = diagnosticsError(resp.Diagnostics)
		}
		if err != nil {
			b.Fatal(err)
		}
		if !bytes.Equal(resp.NewState.MsgPack, first.NewState.MsgPack) {
			b.Fatal("the refresh of an unchanged Service changed its state")
		}

		start = time.Now()
		if _, err := plain.Resource(serving.ServicesGVR).Namespace("default").Get(ctx, "hello", metav1.GetOptions{}); err != nil {
			b.Fatal(err)
		}
		gets += time.Since(start)
	}
	b.StopTimer()
	perOp := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
	b.ReportMetric(perOp(calls), "read-resource-us/op")
	b.ReportMetric(perOp(time.Duration(readTime.Load())), "resource-read-us/op")
	b.ReportMetric(perOp(gets), "plain-get-us/op")
	b.ReportMetric(float64(readTime.Load())/float64(gets), "resource-read-ratio")
	b.ReportMetric(calls.Seconds()/gets.Seconds(), "read-resource-ratio")
}
