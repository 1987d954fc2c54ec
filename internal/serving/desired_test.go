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

// A layer's containers reuse Knative Serving core's container names for
// images of their own (net-kourier's controller is named controller, like
// Serving's): a bare override names the image, so it leaves them alone.
func TestDesiredRegistryOverrideOfASharedContainerName(t *testing.T) {
	objs, err := Desired(Spec{Version: "1.23.0", Ingress: "kourier", Registry: Registry{Override: map[string]string{
		"controller":                             "mirror.example.com/serving-controller:1",
		"net-kourier-controller":                 "mirror.example.com/kourier:1",
		"3scale-kourier-gateway/kourier-gateway": "mirror.example.com/envoy:1",
		"kourier-gateway":                        "mirror.example.com/not-a-name:1",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ namespace, deployment, container, want string }{
		{Namespace, "controller", "controller", "mirror.example.com/serving-controller:1"},
		{Namespace, "net-kourier-controller", "controller", "mirror.example.com/kourier:1"},
		{"kourier-system", "3scale-kourier-gateway", "kourier-gateway", "mirror.example.com/envoy:1"},
	} {
		if got := containerImage(t, find(t, objs, "Deployment", tc.namespace, tc.deployment), tc.container); got != tc.want {
			t.Errorf("%s/%s image %q, want %q", tc.deployment, tc.container, got, tc.want)
		}
	}
	if got := containerImage(t, find(t, objs, "Deployment", Namespace, "webhook"), "webhook"); strings.HasPrefix(got, "mirror.example.com/") {
		t.Errorf("webhook image %q: no override names it", got)
	}
}

// imageNames are the names (${NAME}) of the release's images, by where each
// is referenced: "deployment/container" for a Deployment's container or
// init container, "Image queue-proxy" for the caching Image, and
// "config-deployment" for its queue-sidecar-image.
var imageNames = map[string]string{
	// Knative Serving core: the container's name, as the Operator's.
	"controller/controller": "controller",
	"webhook/webhook":       "webhook",
	"autoscaler/autoscaler": "autoscaler",
	"activator/activator":   "activator",
	"Image queue-proxy":     queueProxy,
	"config-deployment":     queueProxy,
	// The networking layers: the Deployment's name.
	"net-kourier-controller/controller":      "net-kourier-controller",
	"3scale-kourier-gateway/kourier-gateway": "3scale-kourier-gateway",
	"net-istio-controller/controller":        "net-istio-controller",
	"net-istio-webhook/webhook":              "net-istio-webhook",
	"net-contour-controller/controller":      "net-contour-controller",
	"net-gateway-api-controller/controller":  "net-gateway-api-controller",
	"net-gateway-api-webhook/webhook":        "net-gateway-api-webhook",
}

// imageRefs are the image references of objs by where each is (imageNames' keys).
func imageRefs(t *testing.T, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	refs := map[string]string{}
	add := func(key, image string) {
		if _, dup := refs[key]; dup || image == "" {
			t.Fatalf("image reference %s is twice in the release, or empty", key)
		}
		refs[key] = image
	}
	for _, o := range objs {
		switch {
		case o.GetKind() == "Deployment":
			for _, field := range []string{"initContainers", "containers"} {
				containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", field)
				for _, c := range containers {
					m := c.(map[string]any)
					image, _ := m["image"].(string)
					add(o.GetName()+"/"+m["name"].(string), image)
				}
			}
		case o.GetKind() == "Image":
			image, _, _ := unstructured.NestedString(o.Object, "spec", "image")
			add("Image "+o.GetName(), image)
		case o.GetKind() == "ConfigMap" && o.GetName() == "config-deployment":
			image, _, _ := unstructured.NestedString(o.Object, "data", "queue-sidecar-image")
			add("config-deployment", image)
		}
	}
	return refs
}

// With a default template, every image of every embedded release and layer
// gets a reference of its own: two references are rewritten alike exactly
// when the release has the same image in both, and each is named as
// imageNames says.
func TestRegistryGivesEveryImageItsOwnReference(t *testing.T) {
	const template = "mirror.example.com/knative/${NAME}:v1"
	seen := map[string]bool{}
	for _, version := range manifests.Versions() {
		for _, ingress := range manifests.Ingresses() {
			release, err := Desired(Spec{Version: version, Ingress: ingress})
			if err != nil {
				t.Fatal(err)
			}
			mirrored, err := Desired(Spec{Version: version, Ingress: ingress, Registry: Registry{Default: template}})
			if err != nil {
				t.Fatal(err)
			}
			original, rewritten := imageRefs(t, release), imageRefs(t, mirrored)
			if len(original) != len(rewritten) {
				t.Fatalf("%s %s: %d image references, %d after the rewrite", version, ingress, len(original), len(rewritten))
			}
			for key, image := range rewritten {
				seen[key] = true
				name, ok := imageNames[key]
				switch {
				case !ok:
					t.Errorf("%s %s: %s (%s) has no expected name in imageNames", version, ingress, key, original[key])
				case image != strings.ReplaceAll(template, "${NAME}", name):
					t.Errorf("%s %s: %s is %q, want the name %q", version, ingress, key, image, name)
				}
				for other, otherImage := range rewritten {
					if sameOriginal, sameRewritten := original[key] == original[other], image == otherImage; sameOriginal != sameRewritten {
						t.Errorf("%s %s: %s and %s: the release's images %q and %q, rewritten %q and %q",
							version, ingress, key, other, original[key], original[other], image, otherImage)
					}
				}
			}
		}
	}
	for key := range imageNames {
		if !seen[key] {
			t.Errorf("imageNames has %s, which no embedded release references", key)
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
	if _, err := Desired(Spec{Version: "1.23.0", Ingress: "nginx"}); err == nil || !strings.Contains(err.Error(), "supported: [kourier istio contour gateway-api external]") {
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
