package provider_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

// leastPrivilegeFile holds the rules README's "Least RBAC" documents, as
// objects a user applies.
const leastPrivilegeFile = "../examples/rbac/least-privilege.yaml"

const terraformIdentity = "system:serviceaccount:default:terraform"

// TestAccLeastRBAC runs knative_service, knative_route,
// knative_domain_mapping and the knative_service and knative_revisions data
// sources as the ServiceAccount of examples/rbac/least-privilege.yaml, bound
// to exactly its rules: create, update, refresh and destroy all work. Then one
// permission at a time is taken away, and the plan or apply that needs it
// fails naming the verb, the resource and its group.
func TestAccLeastRBAC(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	restricted := filepath.Join(t.TempDir(), "terraform.kubeconfig")
	// The runtime is installed here with admin rights rather than by a second,
	// aliased provider block: in-process, one provider server serves every
	// alias, so the last configuration would win.
	installer := &serving.Installer{Clients: clients}
	spec := serving.Spec{Version: acctest.ServingVersion(), Ingress: "kourier"}
	if err := installer.Apply(context.Background(), spec, nil, true); err != nil {
		t.Fatalf("installing Knative Serving: %v", err)
	}
	t.Cleanup(func() {
		if err := installer.Remove(context.Background(), spec, true); err != nil {
			t.Errorf("removing Knative Serving: %v", err)
		}
	})
	leastPrivilege(t, c, clients, restricted)
	apps := func(image, extra string) string {
		return fmt.Sprintf(`
provider "knative" {
  config_path = %q
}

resource "knative_service" "hello" {
  name     = "hello"
  template = { containers = [{ image = "kind.local/hello:%s" }] }
}

resource "knative_route" "preview" {
  name          = "preview"
  cluster_local = true
  traffic       = [{ configuration_name = knative_service.hello.name, percent = 100 }]
}

resource "knative_domain_mapping" "app" {
  name = "app.example.com"
  ref  = { name = knative_service.hello.name }
}
%s%s`, restricted, image, serviceDataSources, extra)
	}
	lacking := func(verb, resource, group string) *regexp.Regexp {
		return wrapped(fmt.Sprintf(`User %q cannot %s resource %q in API group %q`, terraformIdentity, verb, resource, group))
	}
	revoke := func(role, verb, resource string) func() {
		return func() { setRules(t, clients, role, verb, resource) }
	}
	restore := func() {
		setRules(t, clients, "knative-apps", "", "")
		setRules(t, clients, "knative-domain-claims", "", "")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkServiceGone(clients),
		Steps: []resource.TestStep{
			{
				Config: apps("v1", ""),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(helloAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("knative_route.preview", tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(appMappingAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue("data.knative_revisions.hello", tfjsonpath.New("revisions").AtSliceIndex(0).AtMapKey("name"), knownvalue.StringExact("hello-00001")),
				},
			},
			{Config: apps("v2", ""), ConfigStateChecks: readyWith("hello-00002")},
			{
				// The plan-time dry-run is a patch.
				PreConfig:   revoke("knative-apps", "patch", "services"),
				Config:      apps("v3", ""),
				PlanOnly:    true,
				ExpectError: lacking("patch", "services", "serving.knative.dev"),
			},
			{
				PreConfig:   revoke("knative-apps", "get", "services"),
				Config:      apps("v2", ""),
				PlanOnly:    true,
				ExpectError: lacking("get", "services", "serving.knative.dev"),
			},
			{
				PreConfig:   revoke("knative-apps", "list", "revisions"),
				Config:      apps("v2", ""),
				PlanOnly:    true,
				ExpectError: lacking("list", "revisions", "serving.knative.dev"),
			},
			{
				PreConfig: func() { restore(); revoke("knative-domain-claims", "create", "clusterdomainclaims")() },
				Config: apps("v2", `
resource "knative_domain_mapping" "other" {
  name = "other.example.com"
  ref  = { name = knative_service.hello.name }
}
`),
				ExpectError: lacking("create", "clusterdomainclaims", "networking.internal.knative.dev"),
			},
			{
				// With every rule back, what the failed apply left converges.
				PreConfig: restore,
				Config: apps("v2", `
resource "knative_domain_mapping" "other" {
  name = "other.example.com"
  ref  = { name = knative_service.hello.name }
}
`),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("knative_domain_mapping.other", tfjsonpath.New("ready"), knownvalue.Bool(true)),
				},
			},
		},
	})
}

// leastPrivilege applies examples/rbac/least-privilege.yaml and writes a
// kubeconfig for its ServiceAccount, with a token from the TokenRequest API.
func leastPrivilege(t *testing.T, c *acctest.Cluster, clients *kube.Clients, kubeconfig string) {
	t.Helper()
	ctx := context.Background()
	applyTestObjects(t, clients, leastPrivilegeObjects(t))
	token, err := clients.Kubernetes.CoreV1().ServiceAccounts("default").CreateToken(ctx, "terraform",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, cluster, _ := c.RawConfig(t)
	config := clientcmdapi.NewConfig()
	config.Clusters["cluster"] = cluster
	config.AuthInfos["terraform"] = &clientcmdapi.AuthInfo{Token: token.Status.Token}
	config.Contexts["terraform"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "terraform"}
	config.CurrentContext = "terraform"
	if err := clientcmd.WriteToFile(*config, kubeconfig); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

func leastPrivilegeObjects(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(leastPrivilegeFile)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := manifests.Parse(data)
	if err != nil {
		t.Fatalf("%s: %v", leastPrivilegeFile, err)
	}
	return objs
}

// setRules sets the ClusterRole's rules to the file's, less verb on
// resource (none when verb is empty), and waits until the API server's
// authorizer agrees.
func setRules(t *testing.T, clients *kube.Clients, role, verb, resource string) {
	t.Helper()
	ctx := context.Background()
	var rules []rbacv1.PolicyRule
	var group string // of the resource losing the verb
	for _, obj := range leastPrivilegeObjects(t) {
		if obj.GetKind() != "ClusterRole" || obj.GetName() != role {
			continue
		}
		var cr rbacv1.ClusterRole
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &cr); err != nil {
			t.Fatal(err)
		}
		for _, rule := range cr.Rules {
			if verb == "" || !slices.Contains(rule.Resources, resource) || !slices.Contains(rule.Verbs, verb) {
				rules = append(rules, rule)
				continue
			}
			// The rule less the resource, and the resource less the verb.
			group = rule.APIGroups[0]
			if others := slices.DeleteFunc(slices.Clone(rule.Resources), func(r string) bool { return r == resource }); len(others) > 0 {
				rules = append(rules, rbacv1.PolicyRule{APIGroups: rule.APIGroups, Resources: others, Verbs: rule.Verbs})
			}
			if verbs := slices.DeleteFunc(slices.Clone(rule.Verbs), func(v string) bool { return v == verb }); len(verbs) > 0 {
				rules = append(rules, rbacv1.PolicyRule{APIGroups: rule.APIGroups, Resources: []string{resource}, Verbs: verbs})
			}
		}
	}
	if rules == nil {
		t.Fatalf("no ClusterRole %s in %s", role, leastPrivilegeFile)
	}
	roles := clients.Kubernetes.RbacV1().ClusterRoles()
	cr, err := roles.Get(ctx, role, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cr.Rules = rules
	if _, err := roles.Update(ctx, cr, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if verb == "" {
		return
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		review, err := clients.Kubernetes.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{
			Spec: authorizationv1.SubjectAccessReviewSpec{User: terraformIdentity, ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: "default", Verb: verb, Group: group, Resource: resource, Name: "hello"}},
		}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return false, err
		}
		return err == nil && !review.Status.Allowed, nil
	})
	if err != nil {
		t.Fatalf("%s is still allowed to %s %s: %v", terraformIdentity, verb, resource, err)
	}
}

// checkServiceGone: the Knative Service hello and what Knative derived from
// it are gone after destroy.
func checkServiceGone(c *kube.Clients) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		if _, err := c.Dynamic.Resource(knativeServices).Namespace("default").Get(ctx, "hello", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			return fmt.Errorf("the Knative Service hello is still there after destroy (err %w)", err)
		}
		revisions := schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "revisions"}
		list, err := c.Dynamic.Resource(revisions).Namespace("default").List(ctx, metav1.ListOptions{LabelSelector: "serving.knative.dev/service=hello"})
		if err != nil {
			return err
		}
		if len(list.Items) > 0 {
			return fmt.Errorf("%d revisions of hello remain after destroy", len(list.Items))
		}
		return nil
	}
}

// applyTestObjects server-side applies objects of any kind the cluster
// serves, and deletes them when the test ends.
func applyTestObjects(t *testing.T, clients *kube.Clients, objs []*unstructured.Unstructured) {
	t.Helper()
	ctx := context.Background()
	groups, err := restmapper.GetAPIGroupResources(clients.Kubernetes.Discovery())
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDiscoveryRESTMapper(groups)
	for _, obj := range objs {
		mapping, err := mapper.RESTMapping(obj.GroupVersionKind().GroupKind(), obj.GroupVersionKind().Version)
		if err != nil {
			t.Fatal(err)
		}
		objects := clients.Dynamic.Resource(mapping.Resource).Namespace(obj.GetNamespace())
		if _, err := objects.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: "acctest", Force: true}); err != nil {
			t.Fatalf("applying %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
		t.Cleanup(func() { _ = objects.Delete(context.Background(), obj.GetName(), metav1.DeleteOptions{}) })
	}
}
