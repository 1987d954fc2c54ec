package serving

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

func find(t *testing.T, objs []*unstructured.Unstructured, kind, namespace, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetNamespace() == namespace && o.GetName() == name {
			return o
		}
	}
	t.Fatalf("%s %s/%s not in the desired objects", kind, namespace, name)
	return nil
}

func containerImage(t *testing.T, d *unstructured.Unstructured, container string) string {
	t.Helper()
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	for _, c := range containers {
		if m := c.(map[string]any); m["name"] == container {
			return m["image"].(string)
		}
	}
	t.Fatalf("no container %s in %s", container, d.GetName())
	return ""
}

// Every embedded version must be installable: all kinds known, transforms apply.
func TestDesiredEveryEmbeddedVersion(t *testing.T) {
	for _, v := range manifests.Versions() {
		objs, err := Desired(Spec{Version: v, Ingress: "kourier"})
		if err != nil {
			t.Fatalf("%s: %v", v, err)
		}
		crd := find(t, objs, "CustomResourceDefinition", "", apiCRD)
		if got := crd.GetLabels()[versionLabel]; got != v {
			t.Errorf("%s: the Service CRD is labeled version %q", v, got)
		}
		network := find(t, objs, "ConfigMap", Namespace, "config-network")
		if got, _, _ := unstructured.NestedString(network.Object, "data", "ingress-class"); got != "kourier.ingress.networking.knative.dev" {
			t.Errorf("%s: config-network ingress-class is %q", v, got)
		}
		for _, o := range objs {
			if o.GetKind() == "ClusterRole" {
				if _, aggregated := o.Object["aggregationRule"]; aggregated {
					if _, hasRules := o.Object["rules"]; hasRules {
						t.Errorf("%s: aggregated ClusterRole %s keeps rules the controller-manager owns", v, o.GetName())
					}
				}
			}
		}
	}
}

func TestDesiredRegistryOverride(t *testing.T) {
	objs, err := Desired(Spec{Version: "1.23.0", Ingress: "kourier", Registry: Registry{
		Default:  "mirror.example.com/knative/${NAME}:v1.23.0",
		Override: map[string]string{"webhook": "mirror.example.com/special/webhook:1", "queue-proxy": "mirror.example.com/qp:1"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := containerImage(t, find(t, objs, "Deployment", Namespace, "controller"), "controller"); got != "mirror.example.com/knative/controller:v1.23.0" {
		t.Errorf("controller image %q", got)
	}
	if got := containerImage(t, find(t, objs, "Deployment", Namespace, "webhook"), "webhook"); got != "mirror.example.com/special/webhook:1" {
		t.Errorf("webhook image %q: the override must win over the default", got)
	}
	deployment := find(t, objs, "ConfigMap", Namespace, "config-deployment")
	if got, _, _ := unstructured.NestedString(deployment.Object, "data", "queue-sidecar-image"); got != "mirror.example.com/qp:1" {
		t.Errorf("queue-sidecar-image %q", got)
	}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			if img := c.(map[string]any)["image"].(string); !strings.HasPrefix(img, "mirror.example.com/") {
				t.Errorf("%s keeps image %s", o.GetName(), img)
			}
		}
	}
}

func TestDesiredHighAvailability(t *testing.T) {
	objs, err := Desired(Spec{Version: "1.23.0", Ingress: "kourier", Replicas: 3})
	if err != nil {
		t.Fatal(err)
	}
	controller := find(t, objs, "Deployment", Namespace, "controller")
	if got, _, _ := unstructured.NestedInt64(controller.Object, "spec", "replicas"); got != 3 {
		t.Errorf("controller replicas %d, want 3", got)
	}
	// The activator is scaled by its HPA: the HPA's minimum moves, the
	// deployment carries no replica count that would fight it.
	activator := find(t, objs, "Deployment", Namespace, "activator")
	if _, found, _ := unstructured.NestedInt64(activator.Object, "spec", "replicas"); found {
		t.Error("an HPA-managed deployment must not carry replicas")
	}
	hpa := find(t, objs, "HorizontalPodAutoscaler", Namespace, "activator")
	if got, _, _ := unstructured.NestedInt64(hpa.Object, "spec", "minReplicas"); got < 3 {
		t.Errorf("activator HPA minReplicas %d, want at least 3", got)
	}
	leader := find(t, objs, "ConfigMap", Namespace, "config-leader-election")
	if got, _, _ := unstructured.NestedString(leader.Object, "data", "buckets"); got != "3" {
		t.Errorf("leader election buckets %q, want 3", got)
	}
}

func TestDesiredRefusesUnknownVersions(t *testing.T) {
	if _, err := Desired(Spec{Version: "1.19.0", Ingress: "kourier"}); err == nil || !strings.Contains(err.Error(), "supported versions") {
		t.Errorf("want an error naming the supported versions, got %v", err)
	}
	if _, err := Desired(Spec{Version: "1.23.0", Ingress: "nginx"}); err == nil || !strings.Contains(err.Error(), "supported: [kourier istio contour gateway-api]") {
		t.Errorf("want nginx refused, naming the supported layers, got %v", err)
	}
}

func TestDroppedObjectsArePruned(t *testing.T) {
	obj := func(kind, namespace, name string) *unstructured.Unstructured {
		o := &unstructured.Unstructured{}
		o.SetKind(kind)
		o.SetNamespace(namespace)
		o.SetName(name)
		return o
	}
	old := []*unstructured.Unstructured{obj("Deployment", Namespace, "controller"), obj("Deployment", Namespace, "domain-mapping"), obj("ConfigMap", Namespace, "domain-mapping")}
	current := []*unstructured.Unstructured{obj("Deployment", Namespace, "controller"), obj("ConfigMap", Namespace, "domain-mapping")}
	got := dropped(old, current)
	if len(got) != 1 || got[0].GetKind() != "Deployment" || got[0].GetName() != "domain-mapping" {
		t.Fatalf("want only Deployment domain-mapping pruned, got %v", got)
	}
}
