package serving_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// benchSpec is the test target's runtime: on kind, from the project's
// registry with Traefik as the networking layer.
var benchSpec = acctest.ServingSpec()

// BenchmarkInstallVsKubectl installs the runtime to available with the
// provider's engine and, alternately, as its users do with kubectl: `apply
// --server-side` of the namespaces and CRDs, `wait --for=condition=Established`,
// `apply --server-side` of the rest (again while Knative's webhook is not
// serving yet: its configurations are in the same manifest), and `wait
// --for=condition=Available` of the deployments. It reports both times and
// their ratio (goal: <= 1), and the same for the apply phase alone. On the
// sandbox the deployments are available once they exist; on kind the images
// are pulled and the pods become Ready.
func BenchmarkInstallVsKubectl(b *testing.B) {
	c := acctest.PreCheck(b)
	installer := benchInstaller(b, c, nil)
	kubectl := acctest.Kubectl(b)
	dir := b.TempDir()
	first, rest := writeManifests(b, dir)
	ctx := context.Background()

	var provider, baseline, providerApply, baselineApply time.Duration
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		removeRuntime(b, installer)
		b.StartTimer()
		start := time.Now()
		if err := installer.Apply(ctx, benchSpec, nil, false); err != nil {
			b.Fatal(err)
		}
		providerApply += time.Since(start)
		if err := installer.WaitReady(ctx, benchSpec); err != nil {
			b.Fatal(err)
		}
		provider += time.Since(start)

		b.StopTimer()
		removeRuntime(b, installer)
		b.StartTimer()
		start = time.Now()
		c.RunKubectl(b, kubectl, "apply", "--server-side", "--force-conflicts", "--field-manager=bench-kubectl", "-f", first)
		c.RunKubectl(b, kubectl, "wait", "--for=condition=Established", "--timeout=5m", "crd", "-l", "app.kubernetes.io/name=knative-serving")
		applyUntilAdmitted(b, c, kubectl, rest)
		baselineApply += time.Since(start)
		c.RunKubectl(b, kubectl, "wait", "--for=condition=Available", "--timeout=10m", "deployment", "--all", "-n", serving.Namespace)
		baseline += time.Since(start)
		b.StopTimer()
		if err := installer.WaitReady(ctx, benchSpec); err != nil { // before the next removal
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	removeRuntime(b, installer)
	b.ReportMetric(float64(provider.Milliseconds())/float64(b.N), "provider-ms/install")
	b.ReportMetric(float64(baseline.Milliseconds())/float64(b.N), "kubectl-ms/install")
	b.ReportMetric(provider.Seconds()/baseline.Seconds(), "ratio-vs-kubectl")
	// The apply phase alone (both then run the same waits).
	b.ReportMetric(float64(providerApply.Milliseconds())/float64(b.N), "provider-apply-ms")
	b.ReportMetric(float64(baselineApply.Milliseconds())/float64(b.N), "kubectl-apply-ms")
	b.ReportMetric(providerApply.Seconds()/baselineApply.Seconds(), "apply-ratio-vs-kubectl")
}

// BenchmarkRefreshRequests counts the API requests one refresh of an installed
// runtime costs, against the floor of a GET per object.
func BenchmarkRefreshRequests(b *testing.B) {
	c := acctest.PreCheck(b)
	var requests atomic.Int64
	installer := benchInstaller(b, c, &requests)
	ctx := context.Background()
	if err := installer.Apply(ctx, benchSpec, nil, true); err != nil {
		b.Fatal(err)
	}
	desired, err := serving.Desired(benchSpec)
	if err != nil {
		b.Fatal(err)
	}
	requests.Store(0)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		obs, err := installer.Observe(ctx, benchSpec)
		if err != nil {
			b.Fatal(err)
		}
		if len(obs.Drift) > 0 {
			b.Fatalf("an installed runtime shows drift: %v", obs.Drift)
		}
	}
	b.StopTimer()
	perRefresh := float64(requests.Load()) / float64(b.N)
	b.ReportMetric(perRefresh, "requests/refresh")
	b.ReportMetric(float64(len(desired)), "objects")
	b.ReportMetric(perRefresh/float64(len(desired)), "ratio-vs-get-per-object")
	removeRuntime(b, installer)
}

func benchInstaller(b *testing.B, c *acctest.Cluster, requests *atomic.Int64) *serving.Installer {
	cfg, err := c.RESTConfig()
	if err != nil {
		b.Fatal(err)
	}
	cfg.QPS, cfg.Burst = -1, 0 // as the provider's default: no client-side limit
	if requests != nil {
		acctest.CountRequests(cfg, requests)
	}
	clients, err := kube.ClientsFor(cfg, kube.DefaultFieldManager)
	if err != nil {
		b.Fatal(err)
	}
	return &serving.Installer{Clients: clients}
}

func removeRuntime(b *testing.B, installer *serving.Installer) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := installer.Remove(ctx, benchSpec, true); err != nil {
		b.Fatal(err)
	}
}

// applyUntilAdmitted applies a manifest with kubectl until the API server
// takes all of it: objects Knative's webhook admits are refused while its
// Service has no ready endpoint yet.
func applyUntilAdmitted(b *testing.B, c *acctest.Cluster, kubectl, manifest string) {
	deadline := time.Now().Add(5 * time.Minute)
	for {
		out, err := c.KubectlCommand(kubectl, "apply", "--server-side", "--force-conflicts", "--field-manager=bench-kubectl", "-f", manifest).CombinedOutput()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("kubectl apply of %s: %v\n%s", manifest, err, out)
		}
		time.Sleep(time.Second)
	}
}

// writeManifests writes the desired objects as kubectl would get them: the
// namespaces and CRDs, and the rest.
func writeManifests(b *testing.B, dir string) (string, string) {
	desired, err := serving.Desired(benchSpec)
	if err != nil {
		b.Fatal(err)
	}
	var first, rest bytes.Buffer
	for _, o := range desired {
		out := &rest
		if o.GetKind() == "Namespace" || o.GetKind() == "CustomResourceDefinition" {
			out = &first
		}
		writeYAML(b, out, o)
	}
	firstPath, restPath := filepath.Join(dir, "first.yaml"), filepath.Join(dir, "rest.yaml")
	if err := os.WriteFile(firstPath, first.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(restPath, rest.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	return firstPath, restPath
}

func writeYAML(b *testing.B, out *bytes.Buffer, o *unstructured.Unstructured) {
	data, err := yaml.Marshal(o.Object)
	if err != nil {
		b.Fatal(err)
	}
	out.WriteString("---\n")
	out.Write(data)
}
