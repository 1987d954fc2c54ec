package controller

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// TestClientCacheRoutesWarnings: a warning a target API server sends (as
// Knative's webhook does for insecure security contexts) reaches the
// provider's log, not client-go's default stderr printer.
func TestClientCacheRoutesWarnings(t *testing.T) {
	const warning = "Kubernetes default value is insecure, Knative may default this to secure in a future release"
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Warning", `299 - "`+warning+`"`)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"apps"}}`))
	}))
	defer api.Close()

	var logged []string
	cache := &clientCache{clients: map[string]*kube.Clients{}, warn: func(_ context.Context, text string) { logged = append(logged, text) }}
	clients, err := cache.get("target", func() (*rest.Config, error) { return &rest.Config{Host: api.URL}, nil }, 50, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := clients.Kubernetes.CoreV1().Namespaces().Get(context.Background(), "apps", metav1.GetOptions{}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(logged, []string{warning}) {
		t.Fatalf("logged %q, want the API server's warning once", logged)
	}
}
