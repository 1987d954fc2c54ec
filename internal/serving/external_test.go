package serving

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tf-knative/terraform-provider-knative/internal/kube/kubetest"
	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

const traefikClass = "traefik.ingress.networking.knative.dev"

func traefikSpec() Spec {
	return Spec{Version: manifests.DefaultVersion, Ingress: External,
		External: ExternalIngress{Class: traefikClass, Services: []string{"traefik/traefik"}}}
}

func createService(t *testing.T, c *kubetest.Cluster, namespace, name string) {
	t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	if _, err := c.Kubernetes.CoreV1().Services(namespace).Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func ingressClassOf(t *testing.T, c *kubetest.Cluster) string {
	t.Helper()
	cm, err := c.Kubernetes.CoreV1().ConfigMaps(Namespace).Get(context.Background(), "config-network", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Data["ingress-class"]
}

// layerObjectsOn are the objects of the layers the provider installs that are
// on the cluster.
func layerObjectsOn(t *testing.T, in *Installer, version string) []string {
	t.Helper()
	var objs []*unstructured.Unstructured
	for _, ingress := range manifests.Ingresses() {
		layer, err := manifests.LoadIngress(version, ingress)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, layer...)
	}
	live, err := in.listLive(context.Background(), objs)
	if err != nil {
		t.Fatal(err)
	}
	var on []string // listLive returns all it lists of a kind: only the layers' count
	for _, o := range objs {
		if live[objectKey(o)] != nil && !slices.Contains(on, objectKey(o)) {
			on = append(on, objectKey(o))
		}
	}
	return on
}

// A layer the user brings: no layer is installed, config-network names its
// class, refresh sees no drift, and Detect reads it back.
func TestExternalIngressInstall(t *testing.T) {
	c := kubetest.New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.RunControlPlane(ctx)
	createService(t, c, "traefik", "traefik")
	in := &Installer{Clients: c.Clients}
	spec := traefikSpec()
	if err := in.Apply(quick(t, 30*time.Second), spec, nil, true); err != nil {
		t.Fatal(err)
	}
	if got := ingressClassOf(t, c); got != traefikClass {
		t.Errorf("config-network ingress-class %q, want %q", got, traefikClass)
	}
	if on := layerObjectsOn(t, in, spec.Version); len(on) > 0 {
		t.Errorf("objects of a networking layer were installed: %v", on)
	}
	obs, err := in.Observe(context.Background(), spec)
	if err != nil || !obs.Found || len(obs.Drift) > 0 {
		t.Fatalf("Observe = found %v drift %q, %v", obs.Found, obs.Drift, err)
	}
	for _, comp := range obs.Components {
		if strings.HasPrefix(comp.Name, "net-") || comp.Namespace != Namespace {
			t.Errorf("component %s/%s is no Knative Serving core's", comp.Namespace, comp.Name)
		}
	}
	got, err := Detect(context.Background(), c.Clients)
	if err != nil || got.Ingress != External || got.IngressClass != traefikClass {
		t.Errorf("Detect = %+v, %v", got, err)
	}
	// The same runtime observed as another external layer: config-network's
	// class is drift.
	other := spec
	other.External = ExternalIngress{Class: "kong"}
	if obs, err := in.Observe(context.Background(), other); err != nil || !slices.ContainsFunc(obs.Drift, func(d string) bool {
		return strings.HasPrefix(d, "ConfigMap knative-serving/config-network: data.ingress-class is \""+traefikClass+"\"")
	}) {
		t.Errorf("Observe with another class: drift %q, %v", obs.Drift, err)
	}
}

// What the external layer needs is checked before anything is written, as
// for the other layers, and so is what cannot be an external layer.
func TestExternalIngressRefusedBeforeWriting(t *testing.T) {
	c := kubetest.New()
	in := &Installer{Clients: c.Clients}
	spec := traefikSpec()
	spec.External.Services = append(spec.External.Services, "traefik/traefik-internal")
	createService(t, c, "traefik", "traefik")
	err := in.Apply(context.Background(), spec, nil, false)
	var missing *MissingPrerequisitesError
	if !errors.As(err, &missing) || !slices.Equal(missing.Missing, []string{"Service traefik/traefik-internal (a proxy Service of the layer)"}) {
		t.Fatalf("Apply = %v", err)
	}
	want := `ingress "external" routes traffic through the networking layer of class traefik.ingress.networking.knative.dev, which must be installed before Knative Serving uses it; the cluster lacks:
  - Service traefik/traefik-internal (a proxy Service of the layer)
Install that layer (its proxy Services must exist), or name the Services it has, then apply again. Nothing was changed.`
	if err.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", err, want)
	}
	for _, tc := range []struct {
		name string
		spec Spec
		want string
	}{
		{"no class", Spec{Version: manifests.DefaultVersion, Ingress: External}, `ingress "external" needs the ingress class`},
		{"a class of a layer of ours", Spec{Version: manifests.DefaultVersion, Ingress: External, External: ExternalIngress{Class: IngressClass("kourier")}},
			`is the class of the kourier layer this provider installs; use ingress "kourier"`},
		{"no DNS subdomain", Spec{Version: manifests.DefaultVersion, Ingress: External, External: ExternalIngress{Class: "Traefik"}}, "is not a DNS subdomain"},
		{"a Service without namespace", Spec{Version: manifests.DefaultVersion, Ingress: External, External: ExternalIngress{Class: traefikClass, Services: []string{"traefik"}}},
			`"traefik" does not name a Service as namespace/name`},
		{"external settings for kourier", Spec{Version: manifests.DefaultVersion, Ingress: "kourier", External: ExternalIngress{Class: traefikClass}},
			`are only for ingress "external"; ingress is "kourier"`},
	} {
		if err := in.Apply(context.Background(), tc.spec, nil, false); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Apply = %v, want %q", tc.name, err, tc.want)
		}
	}
	if c.Writes() != 0 {
		t.Errorf("%d writes before the refusals", c.Writes())
	}
}

func TestCheckExternalClass(t *testing.T) {
	for _, tc := range []struct {
		class, warning, err string
	}{
		{class: traefikClass},
		{class: "ambassador.ingress.networking.knative.dev"},
		{class: "kong", warning: `does not end in ".ingress.networking.knative.dev"`},
		{class: "Kong", err: "not a DNS subdomain"},
		{class: "traefik ingress", err: "not a DNS subdomain"},
		{class: "", err: "not a DNS subdomain"},
		{class: "istio.ingress.networking.knative.dev", err: "the class of the istio layer"},
	} {
		warning, err := CheckExternalClass(tc.class)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("%q: error %v, want %q", tc.class, err, tc.err)
		}
		if (tc.warning == "") != (warning == "") || !strings.Contains(warning, tc.warning) {
			t.Errorf("%q: warning %q, want %q", tc.class, warning, tc.warning)
		}
	}
	for key, ok := range map[string]bool{"traefik/traefik": true, "kong/kong-proxy": true, "traefik": false, "a/b/c": false, "Traefik/x": false, "/x": false, "x/": false} {
		if err := CheckServiceKey(key); (err == nil) != ok {
			t.Errorf("CheckServiceKey(%q) = %v", key, err)
		}
	}
}

// The desired objects of an external layer are Knative Serving core's, with
// config-network naming the layer's class.
func TestDesiredExternalIngress(t *testing.T) {
	spec := traefikSpec()
	objs, err := Desired(spec)
	if err != nil {
		t.Fatal(err)
	}
	core, err := manifests.LoadCore(spec.Version)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(core) {
		t.Errorf("%d objects, Knative Serving core has %d", len(objs), len(core))
	}
	network := find(t, objs, "ConfigMap", Namespace, "config-network")
	if got, _, _ := unstructured.NestedString(network.Object, "data", "ingress-class"); got != traefikClass || spec.IngressClass() != traefikClass {
		t.Errorf("config-network ingress-class %q, IngressClass %q", got, spec.IngressClass())
	}
	others, err := otherLayers(spec, objs)
	if err != nil {
		t.Fatal(err)
	}
	for _, ingress := range manifests.Ingresses() {
		if !slices.ContainsFunc(others, func(o *unstructured.Unstructured) bool {
			return o.GetKind() == "Deployment" && o.GetName() == Layers[ingress].Controller
		}) {
			t.Errorf("the %s layer's controller is not among the objects an external layer retires", ingress)
		}
	}
	if !slices.Contains(IngressNames(), External) || IngressOfClass(traefikClass) != "" {
		t.Errorf("IngressNames %v; IngressOfClass(%q) = %q", IngressNames(), traefikClass, IngressOfClass(traefikClass))
	}
	for class, want := range map[string]string{"": "", IngressClass("contour"): "contour", traefikClass: External, "kong": External} {
		if got := ingressOf(class, spec); got != want {
			t.Errorf("ingressOf(%q) = %q, want %q", class, got, want)
		}
	}
}

// moveRoutes stands in for Knative and the layers' controllers: once
// config-network names class, the KIngress is of that class and Ready. It
// returns when it has moved it or ctx ends.
func moveRoutes(ctx context.Context, c *kubetest.Cluster, kingress *unstructured.Unstructured, class string) {
	for ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
		if cm, err := c.Kubernetes.CoreV1().ConfigMaps(Namespace).Get(context.Background(), "config-network", metav1.GetOptions{}); err == nil && cm.Data["ingress-class"] == class {
			moved := kingress.DeepCopy()
			moved.SetAnnotations(map[string]string{"networking.knative.dev/ingress.class": class})
			moved.Object["status"] = map[string]any{"observedGeneration": int64(1), "conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}
			c.Put(ingressesGVR, moved)
			return
		}
	}
}

// Switching from Kourier to a layer the user brings and back is in place, as
// between the layers the provider installs: config-network keeps the old
// class until the new layer runs, the old layer goes once the new one serves
// every route.
func TestSwitchingToAnExternalLayerAndBack(t *testing.T) {
	kourier := defaultSpec()
	c, in, progress := installed(t, kourier)
	createService(t, c, "traefik", "traefik")
	kingress := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "networking.internal.knative.dev/v1alpha1", "kind": "Ingress",
		"metadata": map[string]any{"name": "hello", "namespace": "default", "generation": int64(1),
			"annotations": map[string]any{"networking.knative.dev/ingress.class": IngressClass("kourier")}}}}
	c.Put(ingressesGVR, kingress)

	switchTo := func(to, from Spec) {
		t.Helper()
		moving, moved := context.WithCancel(context.Background())
		defer moved()
		go moveRoutes(moving, c, kingress, to.IngressClass())
		*progress = nil
		if err := in.Apply(quick(t, 30*time.Second), to, &from, false); err != nil {
			t.Fatal(err)
		}
		want := "switching the networking layer from " + from.Ingress + " (" + from.IngressClass() + ") to " + to.Ingress + " (" + to.IngressClass() + ")"
		if !slices.Contains(*progress, want) || !slices.Contains(*progress, "waiting for "+to.Ingress+" ("+to.IngressClass()+") to serve every route") {
			t.Errorf("progress %q: no switch, or no wait for the routes to move", *progress)
		}
		if got := ingressClassOf(t, c); got != to.IngressClass() {
			t.Errorf("config-network ingress-class %q after the switch, want %q", got, to.IngressClass())
		}
		obs, err := in.Observe(context.Background(), to)
		if err != nil || len(obs.Drift) > 0 {
			t.Fatalf("after the switch to %s: drift %q, %v", to.Ingress, obs.Drift, err)
		}
	}

	external := traefikSpec()
	switchTo(external, kourier)
	if on := layerObjectsOn(t, in, external.Version); len(on) > 0 {
		t.Errorf("Kourier's objects are still there after the switch to the external layer: %v", on)
	}
	// Back: the spec applied knows nothing of the external layer; its class
	// on the cluster says a switch is under way.
	switchTo(kourier, external)
	if c.Get(DeploymentsGVR, "kourier-system", "3scale-kourier-gateway") == nil || c.Get(DeploymentsGVR, Namespace, Layers["kourier"].Controller) == nil {
		t.Error("Kourier is not installed again")
	}
	if got, err := Detect(context.Background(), c.Clients); err != nil || got.Ingress != "kourier" {
		t.Errorf("Detect = %+v, %v", got, err)
	}
}

// An upgrade that also switches to an external layer prunes what the older
// release had and the newer lacks, by the newer spec's layer: the prune's
// spec once lacked the external layer's class and refused, after every object
// was written.
func TestUpgradeAndSwitchToAnExternalLayerInOneApply(t *testing.T) {
	versions := manifests.Versions()
	older := Spec{Version: versions[len(versions)-2], Ingress: manifests.DefaultIngress}
	c, in, progress := installed(t, older)
	createService(t, c, "traefik", "traefik")
	newer := traefikSpec()
	*progress = nil
	if err := in.Apply(quick(t, 30*time.Second), newer, &older, false); err != nil {
		t.Fatalf("upgrade from %s with Kourier to %s with an external layer: %v", older.Version, newer.Version, err)
	}
	if !slices.Contains(*progress, "config-network: ingress-class "+newer.IngressClass()) {
		t.Errorf("config-network was not switched to the external layer: %q", *progress)
	}
	if on := layerObjectsOn(t, in, newer.Version); len(on) > 0 {
		t.Errorf("Kourier's objects are still there after the switch: %v", on)
	}
	if got, err := Detect(context.Background(), c.Clients); err != nil || got.Version != newer.Version {
		t.Errorf("Detect = %+v, %v; want version %s", got, err, newer.Version)
	}
}
