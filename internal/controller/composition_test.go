package controller_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	knativelabels "knative.dev/serving/pkg/reconciler/route/resources/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/yaml"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/internal/xpkg"
)

var appGVK = schema.GroupVersionKind{Group: "platform.example.org", Version: "v1alpha1", Kind: "App"}

// TestAccCrossplaneComposition installs the App platform the way Crossplane
// users do and runs both of its Compositions end to end, with Crossplane core
// in the sandbox as a local process:
//   - the packages (provider-knative, function-knative-app, the
//     configuration, and function-patch-and-transform and function-auto-ready
//     built from the module proxy) are pushed to the sandbox's OCI registry;
//   - examples/crossplane/install.yaml is applied, then the Configuration, by
//     their real names (ghcr.io/tf-knative/..., which the sandbox's
//     ImageConfigs point at its registry): Crossplane's package manager pulls
//     them, installs the provider's CRDs, resolves the Configuration's
//     dependencies and installs the XRD and the Compositions (make
//     demo-crossplane installs the Configuration alone, so its dependencies
//     are installed by the resolution);
//   - the sandbox, as the External package runtime, runs each provider and
//     function from the binary in its package's own runtime image;
//   - an App composed by the patch-and-transform Composition: a Service and a
//     DomainMapping managed resource (the Knative Service named after the
//     App, the mapping pointing at the App's Service by matchControllerRef),
//     the App's URL and revision patched back, its connection Secret; a new
//     image is a new revision;
//   - an App composed by function-knative-app's Composition;
//   - deleting the Apps removes everything they composed.
func TestAccCrossplaneComposition(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make test does) to run it against the sandbox")
	}
	if os.Getenv("KNATIVE_TEST_CROSSPLANE_KUBECONFIG") != "" || ownCluster() {
		t.Skip("the composition test runs Crossplane core, its registry and the packages' runtimes as local processes, which only the sandbox provides: " +
			"it runs when make test targets the sandbox")
	}
	ctx := context.Background()
	s := freshSandbox(t, controlPlaneSandbox, 30*time.Minute)
	x, err := s.StartCrossplane(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.StopCrossplane)
	registry, err := x.PublishPackages(ctx, packageVersion)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{Crossplane: acctest.ConnectCrossplane(t, &acctest.Cluster{Kubeconfig: s.Kubeconfig}, appNamespace)}
	providerArgs := sandbox.PackageArgs{
		// Quick polls, so the test sees Knative's verdicts soon.
		"tf-knative-provider-knative": {"--poll", "3s", "--ready-poll", "500ms", "--debug"},
	}
	// examples/crossplane/install.yaml as a user applies it: the Provider and
	// the Functions. Then the Configuration, whose dependencies they are.
	install, err := os.ReadFile("../../examples/crossplane/install.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range strings.Split(string(install), "\n---\n") {
		applyManifest(t, e, doc)
	}
	if err := x.RunPackages(ctx, 10*time.Minute, providerArgs); err != nil {
		t.Fatal(err)
	}
	checkInstalledFromPackages(t, e, registry)
	applyManifest(t, e, fmt.Sprintf(`
apiVersion: pkg.crossplane.io/v1
kind: Configuration
metadata: {name: tf-knative-configuration-knative-app}
spec: {package: %s/configuration-knative-app:%s}
`, xpkg.Home, packageVersion))
	if err := x.RunPackages(ctx, 10*time.Minute, providerArgs); err != nil {
		t.Fatal(err)
	}
	// The DeploymentRuntimeConfig example is one Crossplane accepts.
	drc, err := os.ReadFile("../../examples/crossplane/deploymentruntimeconfig.yaml")
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(drc, &u.Object); err != nil {
		t.Fatal(err)
	}
	if err := e.Client.Patch(ctx, u, client.Apply, client.FieldOwner("crossplane-acctest"), client.DryRunAll); err != nil {
		t.Errorf("Crossplane refuses examples/crossplane/deploymentruntimeconfig.yaml: %v", err)
	}
	e.DefaultProviderConfig(t)
	if err := (&serving.Installer{Clients: e.Clients}).Apply(ctx, serving.Spec{Version: "1.23.0", Ingress: "kourier"}, nil, true); err != nil {
		t.Fatalf("installing Knative Serving: %v", err)
	}

	t.Run("patch-and-transform", func(t *testing.T) {
		app, svc, dm := composeApp(t, e, "app.yaml")
		if meta.GetExternalName(svc) != "hello" || meta.GetExternalName(dm) != "hello.example.org" {
			t.Errorf("external names: Service %q, DomainMapping %q; want the App's name and its domain", meta.GetExternalName(svc), meta.GetExternalName(dm))
		}
		if ref := dm.Spec.ForProvider.ServiceRef; ref == nil || ref.Name != svc.GetName() {
			t.Errorf("the DomainMapping's serviceSelector.matchControllerRef resolved to %+v, want the App's Service %s", ref, svc.GetName())
		}
		ksvc := e.knativeService(t, "hello")
		if ksvc == nil {
			t.Fatal("no Knative Service hello")
		}
		annotations, _, _ := unstructured.NestedStringMap(ksvc.Object, "spec", "template", "metadata", "annotations")
		if annotations["autoscaling.knative.dev/max-scale"] != "3" || annotations["autoscaling.knative.dev/min-scale"] != "0" {
			t.Errorf("the App's scale bounds are not on the revision template: %v", annotations)
		}
		waitApp(t, e, app, "hello-00001", "http://hello.example.org")
		// visibility: public (the default) is public to Knative's route
		// reconciler, which takes any value of the label but "" for cluster-local.
		if labels := ksvc.GetLabels(); knativelabels.IsObjectLocalVisibility(&metav1.ObjectMeta{Labels: labels}) {
			t.Errorf("the public App's Knative Service is cluster-local to Knative: labels %v", labels)
		}
		acctest.Eventually(t, time.Minute, "the App's connection Secret", func() (bool, string) {
			secret := &corev1.Secret{}
			if err := e.Client.Get(ctx, client.ObjectKey{Namespace: appNamespace, Name: "hello-connection"}, secret); err != nil {
				return false, err.Error()
			}
			return string(secret.Data["url"]) == "http://hello.example.org" && strings.HasPrefix(string(secret.Data["address"]), "http://hello.apps.svc"),
				fmt.Sprintf("url %q address %q", secret.Data["url"], secret.Data["address"])
		})

		patchApp(t, e, app, `{"spec":{"image":"kind.local/helloworld-go:v2"}}`)
		waitApp(t, e, app, "hello-00002", "http://hello.example.org")
		if image, _ := containerImage(e.knativeService(t, "hello")); image != "kind.local/helloworld-go:v2" {
			t.Errorf("the Knative Service runs %q after the App's update", image)
		}
		deleteApp(t, e, app, "hello", "hello.example.org", svc, dm)
	})

	t.Run("function-knative-app", func(t *testing.T) {
		app, svc, dm := composeApp(t, e, "app-function.yaml")
		waitApp(t, e, app, "hello-fn-00001", "http://hello-fn.example.org")
		deleteApp(t, e, app, "hello-fn", "hello-fn.example.org", svc, dm)
	})
}

// packageVersion is the version the tests publish the packages at.
const packageVersion = "v0.1.0"

// checkInstalledFromPackages checks that Crossplane installed the provider
// from the sandbox's registry: its CRDs are owned by its ProviderRevision,
// and the revision's image is the registry's.
func checkInstalledFromPackages(t *testing.T, e *env, registry string) {
	t.Helper()
	ctx := context.Background()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := e.Client.Get(ctx, client.ObjectKey{Name: "services.serving.knative.m.crossplane.io"}, crd); err != nil {
		t.Fatal(err)
	}
	owned := false
	for _, o := range crd.OwnerReferences {
		owned = owned || o.Kind == "ProviderRevision"
	}
	if !owned {
		t.Errorf("the Service CRD is not installed by the provider's package: owners %+v", crd.OwnerReferences)
	}
	provider := &unstructured.Unstructured{}
	provider.SetGroupVersionKind(schema.GroupVersionKind{Group: "pkg.crossplane.io", Version: "v1", Kind: "Provider"})
	if err := e.Client.Get(ctx, client.ObjectKey{Name: "tf-knative-provider-knative"}, provider); err != nil {
		t.Fatalf("the Configuration's dependency resolution installed no provider: %v", err)
	}
	resolved, _, _ := unstructured.NestedString(provider.Object, "status", "resolvedPackage")
	if want := registry + "/tf-knative/provider-knative:"; !strings.HasPrefix(resolved, want) {
		t.Errorf("the provider's package resolved to %q, want %s...", resolved, want)
	}
}

// composeApp applies an example App and waits until the Service and the
// DomainMapping managed resource it composed are Ready.
func composeApp(t *testing.T, e *env, file string) (app *unstructured.Unstructured, svc *servingv1alpha1.Service, dm *servingv1alpha1.DomainMapping) {
	t.Helper()
	app = applyFile(t, e, filepath.Join("../../examples/crossplane/app", file))
	svc, dm = &servingv1alpha1.Service{}, &servingv1alpha1.DomainMapping{}
	for _, mr := range []resource.Managed{svc, dm} {
		composedOf(t, e, app.GetName(), mr)
		e.WaitCondition(t, mr, "Ready", corev1.ConditionTrue, "", 3*time.Minute)
	}
	return app, svc, dm
}

// composedOf reads into mr the one managed resource of its kind that the App composed.
func composedOf(t *testing.T, e *env, app string, mr client.Object) {
	t.Helper()
	gvk, err := apiutil.GVKForObject(mr, acctest.Scheme)
	if err != nil {
		t.Fatal(err)
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	acctest.Eventually(t, 2*time.Minute, fmt.Sprintf("the %s composed by the App %s", gvk.Kind, app), func() (bool, string) {
		ctx := context.Background()
		if err := e.Client.List(ctx, list, client.InNamespace(appNamespace), client.MatchingLabels{"crossplane.io/composite": app}); err != nil {
			return false, err.Error()
		}
		if len(list.Items) != 1 {
			return false, fmt.Sprintf("%d composed", len(list.Items))
		}
		err := e.Client.Get(ctx, client.ObjectKeyFromObject(&list.Items[0]), mr)
		return err == nil, fmt.Sprintf("get: %v", err)
	})
}

// deleteApp deletes the App and waits until its managed resources, the
// Knative Service and DomainMapping and the domain's claim are gone.
func deleteApp(t *testing.T, e *env, app *unstructured.Unstructured, service, domain string, mrs ...client.Object) {
	t.Helper()
	ctx := context.Background()
	e.DeleteAndWait(t, app)
	for _, mr := range mrs {
		acctest.Eventually(t, 2*time.Minute, mr.GetName()+" deleted", func() (bool, string) {
			err := e.Client.Get(ctx, client.ObjectKeyFromObject(mr), mr)
			return apierrors.IsNotFound(err), fmt.Sprintf("get: %v", err)
		})
	}
	acctest.Eventually(t, 2*time.Minute, "the Knative objects deleted", func() (bool, string) {
		left := []string{}
		if e.knativeService(t, service) != nil {
			left = append(left, "Service "+service)
		}
		if live, err := serving.DomainMapping.On(e.Clients).Get(ctx, appNamespace, domain); err != nil || live != nil {
			left = append(left, "DomainMapping "+domain)
		}
		if _, err := e.Clients.Dynamic.Resource(serving.ClusterDomainClaimsGVR).Get(ctx, domain, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			left = append(left, "ClusterDomainClaim "+domain)
		}
		return len(left) == 0, "left: " + strings.Join(left, ", ")
	})
}

// applyFile applies the one object of an example file as written.
func applyFile(t *testing.T, e *env, path string) *unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return applyManifest(t, e, string(data))
}

// applyManifest applies one object of any kind as written, as kubectl would.
func applyManifest(t *testing.T, e *env, manifest string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(manifest), &u.Object); err != nil {
		t.Fatal(err)
	}
	if err := e.Client.Patch(context.Background(), u, client.Apply, client.FieldOwner("crossplane-acctest"), client.ForceOwnership); err != nil {
		t.Fatalf("applying %s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return u
}

func patchApp(t *testing.T, e *env, app *unstructured.Unstructured, patch string) {
	t.Helper()
	if err := e.Client.Patch(context.Background(), app, client.RawPatch("application/merge-patch+json", []byte(patch))); err != nil {
		t.Fatal(err)
	}
}

// waitApp waits until the App is Ready with revision and url on its status.
func waitApp(t *testing.T, e *env, app *unstructured.Unstructured, revision, url string) {
	t.Helper()
	acctest.Eventually(t, 3*time.Minute, fmt.Sprintf("the App Ready with %s at %s", revision, url), func() (bool, string) {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(appGVK)
		if err := e.Client.Get(context.Background(), client.ObjectKeyFromObject(app), got); err != nil {
			return false, err.Error()
		}
		gotRevision, _, _ := unstructured.NestedString(got.Object, "status", "latestReadyRevision")
		gotURL, _, _ := unstructured.NestedString(got.Object, "status", "url")
		ready := conditionOf(got, "Ready")
		return ready == "True" && gotRevision == revision && gotURL == url,
			fmt.Sprintf("Ready=%s revision %q url %q (conditions %v)", ready, gotRevision, gotURL, got.Object["status"])
	})
}

func conditionOf(u *unstructured.Unstructured, typ string) string {
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		if c, ok := c.(map[string]any); ok && c["type"] == typ {
			status, _ := c["status"].(string)
			return status
		}
	}
	return ""
}

func containerImage(ksvc *unstructured.Unstructured) (string, bool) {
	containers, _, _ := unstructured.NestedSlice(ksvc.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		return "", false
	}
	image, ok := containers[0].(map[string]any)["image"].(string)
	return image, ok
}
