package serving

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/tf-knative/terraform-provider-knative/internal/kube/kubetest"
)

// A config map's keys under one field manager, on client-go's fake clientset,
// which does server-side apply with real field ownership and conflicts.

func TestConfigOwnsOnlyItsKeys(t *testing.T) {
	ctx := context.Background()
	c := kubetest.New(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config-autoscaler", Namespace: Namespace}})
	cms := c.Kubernetes.CoreV1().ConfigMaps(Namespace)
	// The installer (another manager) owns a key.
	if _, err := cms.Apply(ctx, applycorev1.ConfigMap("config-autoscaler", Namespace).WithData(map[string]string{"enable-scale-to-zero": "true"}),
		metav1.ApplyOptions{FieldManager: "installer"}); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Clients: c.Clients, Name: "autoscaler"}
	if cfg.FieldManager() != kubetest.FieldManager+"/config-autoscaler" {
		t.Errorf("FieldManager = %q", cfg.FieldManager())
	}
	if err := cfg.Apply(ctx, map[string]string{"stable-window": "90s", "max-scale": "10"}, nil); err != nil {
		t.Fatal(err)
	}
	data, others, err := cfg.Read(ctx)
	if err != nil || data["stable-window"] != "90s" || data["enable-scale-to-zero"] != "true" || others["enable-scale-to-zero"] != "installer" {
		t.Fatalf("Read = %v, %v, %v", data, others, err)
	}
	obs, err := cfg.Observe(ctx)
	if err != nil || !obs.Owned["stable-window"] || !obs.Owned["max-scale"] || obs.Owned["enable-scale-to-zero"] {
		t.Fatalf("Observe owned = %v, %v", obs.Owned, err)
	}
	// A key another writer owns is a conflict, named, unless reclaimed.
	err = cfg.Apply(ctx, map[string]string{"stable-window": "90s", "enable-scale-to-zero": "false"}, nil)
	if err == nil || !strings.Contains(err.Error(), "enable-scale-to-zero managed by another writer") {
		t.Fatalf("Apply of a foreign key = %v", err)
	}
	if err := cfg.Apply(ctx, map[string]string{"stable-window": "90s", "enable-scale-to-zero": "false"}, map[string]bool{"enable-scale-to-zero": true}); err != nil {
		t.Fatalf("Apply reclaiming = %v", err)
	}
	// Removing a key this manager set; the others stay.
	if err := cfg.Apply(ctx, nil, nil); err != nil {
		t.Fatal(err)
	}
	cm, _ := cms.Get(ctx, "config-autoscaler", metav1.GetOptions{})
	if _, ok := cm.Data["stable-window"]; ok {
		t.Errorf("a key this manager no longer sets stays: %v", cm.Data)
	}
}

func TestConfigWithoutTheRuntime(t *testing.T) {
	cfg := &Config{Clients: kubetest.New().Clients, Name: "autoscaler"}
	if err := cfg.Apply(context.Background(), map[string]string{"stable-window": "90s"}, nil); !errors.Is(err, ErrConfigMapMissing) {
		t.Errorf("Apply = %v", err)
	}
	if _, err := cfg.Observe(context.Background()); err == nil {
		t.Error("Observe of a missing config map: no error")
	}
	if features, err := ClusterFeatures(context.Background(), kubetest.New().Clients); err != nil || features != nil {
		t.Errorf("ClusterFeatures without Knative = %v, %v", features, err)
	}
	c := kubetest.New(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config-features", Namespace: Namespace}, Data: map[string]string{"kubernetes.podspec-fieldref": "enabled"}})
	if features, err := ClusterFeatures(context.Background(), c.Clients); err != nil || features == nil || features.PodSpecFieldRef != "Enabled" {
		t.Errorf("ClusterFeatures = %+v, %v", features, err)
	}
}

func TestConflictingKeys(t *testing.T) {
	if got := conflictingKeys(errors.New("not an API status")); len(got) != 1 || got[0] != "(unknown key)" {
		t.Errorf("conflictingKeys = %v", got)
	}
}
