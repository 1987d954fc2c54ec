package controller_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

var appGVK = schema.GroupVersionKind{Group: "platform.example.org", Version: "v1alpha1", Kind: "App"}

// TestAccCrossplaneComposition runs the example App (examples/crossplane/app)
// through Crossplane core itself, in the sandbox as a local process, with
// function-knative-app as a local gRPC server and the provider's controllers
// in-process: an App composes a Service and a DomainMapping managed resource,
// Knative makes them Ready, the App shows its URL; a new image is a new
// revision; deleting the App removes everything it composed.
func TestAccCrossplaneComposition(t *testing.T) {
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make test does) to run it against the sandbox")
	}
	if os.Getenv("KNATIVE_TEST_CROSSPLANE_KUBECONFIG") != "" || ownCluster() {
		t.Skip("the composition test runs Crossplane core and its function as local processes, which only the sandbox provides: " +
			"it runs when make test targets the sandbox")
	}
	ctx := context.Background()
	s := freshSandbox(t, controlPlaneSandbox, 30*time.Minute)
	e := &env{acctest.StartCrossplane(t, &acctest.Cluster{Kubeconfig: s.Kubeconfig}, acctest.CrossplaneOptions{
		Namespace: appNamespace, PollInterval: 3 * time.Second, ReadyPoll: 500 * time.Millisecond, MaxReconcileRate: 10,
	})}
	if err := (&serving.Installer{Clients: e.Clients}).Apply(ctx, serving.Spec{Version: "1.23.0", Ingress: "kourier"}, nil, true); err != nil {
		t.Fatalf("installing Knative Serving: %v", err)
	}

	x, err := s.StartCrossplane(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.StopCrossplane)
	binary := filepath.Join(t.TempDir(), "function-knative-app")
	if out, err := exec.Command("go", "build", "-o", binary, "../../crossplane/cmd/function-knative-app").CombinedOutput(); err != nil {
		t.Fatalf("building the function: %v\n%s", err, out)
	}
	pkg, err := os.ReadFile("../../crossplane/function/package/crossplane.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := x.RunFunction(ctx, "function-knative-app", pkg, []string{binary}); err != nil {
		t.Fatal(err)
	}

	applyFile(t, e, "../../examples/crossplane/app/definition.yaml")
	acctest.Eventually(t, time.Minute, "the App definition established", func() (bool, string) {
		xrd := &unstructured.Unstructured{}
		xrd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.crossplane.io", Version: "v2", Kind: "CompositeResourceDefinition"})
		if err := e.Client.Get(ctx, client.ObjectKey{Name: "apps.platform.example.org"}, xrd); err != nil {
			return false, err.Error()
		}
		return conditionOf(xrd, "Established") == "True", fmt.Sprintf("conditions %v", xrd.Object["status"])
	})
	applyFile(t, e, "../../examples/crossplane/app/composition.yaml")
	app := applyFile(t, e, "../../examples/crossplane/app/app.yaml")

	// Composed: the Service MR of the App's name, the DomainMapping MR of its domain.
	svc := &servingv1alpha1.Service{}
	svc.SetName("hello")
	svc.SetNamespace(appNamespace)
	e.WaitCondition(t, svc, "Ready", corev1.ConditionTrue, "", 3*time.Minute)
	dm := &servingv1alpha1.DomainMapping{}
	dm.SetName("hello.example.org")
	dm.SetNamespace(appNamespace)
	e.WaitCondition(t, dm, "Ready", corev1.ConditionTrue, "", 3*time.Minute)
	for _, mr := range []client.Object{svc, dm} {
		if owner := mr.GetLabels()["crossplane.io/composite"]; owner != "hello" {
			t.Errorf("%s %s is not composed by the App: labels %v", mr.GetObjectKind().GroupVersionKind().Kind, mr.GetName(), mr.GetLabels())
		}
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

	// A new image: a new revision, shown on the App.
	patchApp(t, e, app, `{"spec":{"image":"kind.local/helloworld-go:v2"}}`)
	waitApp(t, e, app, "hello-00002", "http://hello.example.org")
	ksvc = e.knativeService(t, "hello")
	if image, _ := containerImage(ksvc); image != "kind.local/helloworld-go:v2" {
		t.Errorf("the Knative Service runs %q after the App's update", image)
	}

	// Deleted: the App, its managed resources, the Knative objects and the claim.
	e.DeleteAndWait(t, app)
	for _, mr := range []client.Object{svc, dm} {
		acctest.Eventually(t, 2*time.Minute, mr.GetName()+" deleted", func() (bool, string) {
			err := e.Client.Get(ctx, client.ObjectKeyFromObject(mr), mr)
			return apierrors.IsNotFound(err), fmt.Sprintf("get: %v", err)
		})
	}
	acctest.Eventually(t, 2*time.Minute, "the Knative objects deleted", func() (bool, string) {
		left := []string{}
		if e.knativeService(t, "hello") != nil {
			left = append(left, "Service hello")
		}
		if live, err := serving.DomainMapping.On(e.Clients).Get(ctx, appNamespace, "hello.example.org"); err != nil || live != nil {
			left = append(left, "DomainMapping hello.example.org")
		}
		if _, err := e.Clients.Dynamic.Resource(serving.ClusterDomainClaimsGVR).Get(ctx, "hello.example.org", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			left = append(left, "ClusterDomainClaim hello.example.org")
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
	u := &unstructured.Unstructured{}
	if err := yaml.Unmarshal(data, &u.Object); err != nil {
		t.Fatal(err)
	}
	if err := e.Client.Patch(context.Background(), u, client.Apply, client.FieldOwner("crossplane-acctest"), client.ForceOwnership); err != nil {
		t.Fatalf("applying %s: %v", path, err)
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
