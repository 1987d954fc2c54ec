package sandbox_test

import (
	"bytes"
	"context"
	"os"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

func TestSandboxesSideBySideAndKnativeRestarts(t *testing.T) {
	if os.Getenv("TF_ACC") == "" || os.Getenv("KNATIVE_TEST_SANDBOX") == "" {
		t.Skip("sandbox tests run when make test targets the local sandbox (TF_ACC=1 KNATIVE_TEST_SANDBOX=1)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	t.Cleanup(func() { _ = sandbox.Down(context.Background(), sandbox.Options{Name: "side-a"}) })
	a, err := sandbox.Up(ctx, sandbox.Options{Name: "side-a"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sandbox.Down(context.Background(), sandbox.Options{Name: "side-b"}) })
	b, err := sandbox.Up(ctx, sandbox.Options{Name: "side-b"})
	if err != nil {
		t.Fatal(err)
	}

	hostA, hostB := server(t, a), server(t, b)
	if hostA == hostB {
		t.Fatalf("both sandboxes serve on %s", hostA)
	}

	// Knative in sandbox b: its processes start, and are restarted when killed.
	clients := clientsOf(t, b)
	if err := (&serving.Installer{Clients: clients}).Apply(ctx, serving.Spec{Version: "1.23.0", Ingress: "kourier"}, nil, true); err != nil {
		t.Fatalf("installing Knative Serving in the sandbox: %v", err)
	}
	// The readiness chain works with simulated pods: Revision, PodAutoscaler
	// (the autoscaler process), ServerlessService and the KIngress stand-in.
	ksvc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Service",
		"metadata": map[string]any{"name": "hello", "namespace": "default"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"image": "kind.local/hello:latest"}}}}},
	}}
	services := clients.Dynamic.Resource(schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "services"}).Namespace("default")
	if _, err := services.Create(ctx, ksvc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating a Knative Service: %v", err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := services.Get(ctx, "hello", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		ready, _, _ := unstructured.NestedString(got.Object, "status", "latestReadyRevisionName")
		url, _, _ := unstructured.NestedString(got.Object, "status", "url")
		return ready == "hello-00001" && url != "", nil
	})
	if err != nil {
		t.Fatalf("the Knative Service did not become Ready with a URL in the sandbox: %v", err)
	}

	first := b.KnativePID("controller")
	if first == 0 {
		t.Fatal("the Knative controller process is not running after the install")
	}
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if pid := b.KnativePID("controller"); pid != 0 && pid != first {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Knative controller was not restarted within a minute (supervisor log in %s)", b.KnativeLogDir())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// Stopping a stops only a's processes.
	if err := sandbox.Down(ctx, sandbox.Options{Name: "side-a"}); err != nil {
		t.Fatal(err)
	}
	if n := processesOf(t, a.Dir); n != 0 {
		t.Errorf("%d processes of sandbox side-a survive its stop", n)
	}
	if n := processesOf(t, b.Dir); n < 5 {
		t.Errorf("sandbox side-b has %d processes after side-a stopped; want its control plane and Knative", n)
	}
	if _, err := clients.Kubernetes.Discovery().ServerVersion(); err != nil {
		t.Errorf("sandbox side-b stopped answering when side-a stopped: %v", err)
	}
}

func server(t *testing.T, s *sandbox.Sandbox) string {
	cfg, err := s.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kubernetes.NewForConfigOrDie(cfg).Discovery().ServerVersion(); err != nil {
		t.Fatalf("sandbox %s does not answer: %v", s.Name, err)
	}
	return cfg.Host
}

func clientsOf(t *testing.T, s *sandbox.Sandbox) *kube.Clients {
	cfg, err := s.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	c, err := kube.ClientsFor(cfg, kube.DefaultFieldManager)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// processesOf counts the live processes whose command line names dir.
func processesOf(t *testing.T, dir string) int {
	n := 0
	err := sandbox.EachProcess(func(pid int, cmdline []byte) bool {
		if bytes.Contains(cmdline, []byte(dir)) {
			n++
		}
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
