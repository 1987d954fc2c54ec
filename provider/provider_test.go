package provider_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
)

func TestMain(m *testing.M) {
	acctest.RunExecPlugin()
	os.Exit(m.Run())
}

const servingDataSource = `
data "knative_serving" "this" {}
`

// expectServingState checks the data source against what an admin client sees.
func expectServingState(t *testing.T, c *acctest.Cluster) []statecheck.StateCheck {
	t.Helper()
	crd, err := c.Clients(t).APIExtensions.ApiextensionsV1().CustomResourceDefinitions().Get(context.Background(), "services.serving.knative.dev", metav1.GetOptions{})
	installed, version := err == nil, ""
	if installed {
		version = crd.Labels["app.kubernetes.io/version"]
	} else if !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue("data.knative_serving.this", tfjsonpath.New("installed"), knownvalue.Bool(installed)),
		statecheck.ExpectKnownValue("data.knative_serving.this", tfjsonpath.New("version"), knownvalue.StringExact(version)),
		statecheck.ExpectKnownValue("data.knative_serving.this", tfjsonpath.New("namespace"), knownvalue.StringExact("knative-serving")),
	}
}

func TestAccProvider_kubeconfigAndContext(t *testing.T) {
	c := acctest.PreCheck(t)
	raw, _, _ := c.RawConfig(t)
	contextName := c.Context
	if contextName == "" {
		contextName = raw.CurrentContext
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "knative" {
  config_paths   = [%q]
  config_context = %q
}
`, c.Kubeconfig, contextName) + servingDataSource,
			ConfigStateChecks: expectServingState(t, c),
		}},
	})
}

func TestAccProvider_kubeconfigFromEnvironment(t *testing.T) {
	c := acctest.PreCheck(t)
	t.Setenv("KUBE_CONFIG_PATH", c.Kubeconfig)
	t.Setenv("KUBE_CTX", c.Context)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config:            `provider "knative" {}` + servingDataSource,
			ConfigStateChecks: expectServingState(t, c),
		}},
	})
}

func TestAccProvider_hostAndToken(t *testing.T) {
	c := acctest.PreCheck(t)
	_, cluster, _ := c.RawConfig(t)
	token := serviceAccountToken(t, c)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "knative" {
  host                   = %q
  token                  = %q
  cluster_ca_certificate = %q
}
`, cluster.Server, token, cluster.CertificateAuthorityData) + servingDataSource,
			ConfigStateChecks: expectServingState(t, c),
		}},
	})
}

func TestAccProvider_clientCertificate(t *testing.T) {
	c := acctest.PreCheck(t)
	_, cluster, user := c.RawConfig(t)
	if len(user.ClientCertificateData) == 0 {
		t.Skip("the test cluster's kubeconfig user has no client certificate; this auth style cannot be tested against it")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "knative" {
  host                   = %q
  client_certificate     = %q
  client_key             = %q
  cluster_ca_certificate = %q
}
`, cluster.Server, user.ClientCertificateData, user.ClientKeyData, cluster.CertificateAuthorityData) + servingDataSource,
			ConfigStateChecks: expectServingState(t, c),
		}},
	})
}

func TestAccProvider_execPlugin(t *testing.T) {
	c := acctest.PreCheck(t)
	_, cluster, _ := c.RawConfig(t)
	token := serviceAccountToken(t, c)
	// The test binary itself is the credential plugin (see acctest.RunExecPlugin).
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: fmt.Sprintf(`
provider "knative" {
  host                   = %q
  cluster_ca_certificate = %q
  exec {
    api_version = "client.authentication.k8s.io/v1"
    command     = %q
    args        = ["-test.run=^$"]
    env         = { %s = %q }
  }
}
`, cluster.Server, cluster.CertificateAuthorityData, self, acctest.ExecPluginEnv, token) + servingDataSource,
			ConfigStateChecks: expectServingState(t, c),
		}},
	})
}

// TLS is verified unless the user opts out: without the cluster's CA the
// connection fails; insecure = true is the explicit opt-out.
func TestAccProvider_tlsVerifiedByDefault(t *testing.T) {
	c := acctest.PreCheck(t)
	_, cluster, _ := c.RawConfig(t)
	if !strings.HasPrefix(cluster.Server, "https://") || len(cluster.CertificateAuthorityData) == 0 {
		t.Skip("the test cluster is not served over https with a private CA")
	}
	token := serviceAccountToken(t, c)
	config := func(extra string) string {
		return fmt.Sprintf("provider \"knative\" {\n  host  = %q\n  token = %q\n%s}\n", cluster.Server, token, extra) + servingDataSource
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{Config: config(""), ExpectError: regexp.MustCompile(`(?s)x509|certificate signed by unknown authority`)},
			{Config: config("  insecure = true\n"), ConfigStateChecks: expectServingState(t, c)},
		},
	})
}

// Configuring the provider and planning must not contact the cluster, so a
// cluster created in the same apply works. Nothing listens on port 1.
func TestAccProvider_noClusterContactWhenConfigured(t *testing.T) {
	acctest.PreCheck(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
provider "knative" {
  host  = "https://127.0.0.1:1"
  token = "not-used"
}
resource "terraform_data" "cluster" {
  input = "https://127.0.0.1:1"
}
`,
		}},
	})
}

// Secrets must never reach logs, not even at TRACE. They come from the
// environment here because the test harness itself logs the configuration text.
func TestAccProvider_secretsNotLogged(t *testing.T) {
	c := acctest.PreCheck(t)
	_, cluster, user := c.RawConfig(t)
	token := serviceAccountToken(t, c)
	logPath := filepath.Join(t.TempDir(), "trace.log")
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_ACC_LOG_PATH", logPath)
	t.Setenv("KUBE_HOST", cluster.Server)
	t.Setenv("KUBE_CLUSTER_CA_CERT_DATA", string(cluster.CertificateAuthorityData))

	steps := []resource.TestStep{{
		PreConfig:         func() { t.Setenv("KUBE_TOKEN", token) },
		Config:            `provider "knative" {}` + servingDataSource,
		ConfigStateChecks: expectServingState(t, c),
	}}
	secrets := []string{token}
	if len(user.ClientKeyData) > 0 {
		steps = append(steps, resource.TestStep{
			PreConfig: func() {
				t.Setenv("KUBE_TOKEN", "")
				t.Setenv("KUBE_CLIENT_CERT_DATA", string(user.ClientCertificateData))
				t.Setenv("KUBE_CLIENT_KEY_DATA", string(user.ClientKeyData))
			},
			Config:            `provider "knative" { qps = 20 }` + servingDataSource,
			ConfigStateChecks: expectServingState(t, c),
		})
		secrets = append(secrets, pemBody(string(user.ClientKeyData)))
	}
	resource.Test(t, resource.TestCase{ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories, Steps: steps})

	logs, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatalf("no TRACE log was written: %v", err)
	}
	// The check is only meaningful if the provider's own TRACE logging was captured.
	if !strings.Contains(string(logs), "provider configured") {
		t.Fatalf("the TRACE log (%d bytes) does not contain the provider's own log lines; the secret check would prove nothing", len(logs))
	}
	for i, secret := range secrets {
		if strings.Contains(string(logs), secret) {
			t.Errorf("secret %d appears in the TRACE log %s", i, logPath)
		}
	}
}

// Bad provider configurations fail at plan with the attribute and the rule.
// badProviderSettings fail at plan without a cluster: the provider block's
// settings are the body. kubeconfig is a readable kubeconfig file.
func badProviderSettings(kubeconfig string) badConfigSet {
	return badConfigSet{cases: []badConfig{
		{"client key without certificate", `client_key = "-----BEGIN EC PRIVATE KEY-----\nMHc=\n-----END EC PRIVATE KEY-----\n"
  host = "https://127.0.0.1:6443"`, `(?s)Missing client_certificate.*client_key = `},
		{"unreadable kubeconfig", `config_path = "/nonexistent/kubeconfig"`, `(?s)Cannot read kubeconfig.*config_path = .*/nonexistent/kubeconfig`},
		{"unknown context", fmt.Sprintf("config_path = %q\n  config_context = \"nope\"", kubeconfig), `(?s)Unknown context.*config_context = "nope".*Known\s+contexts:\s+ctx1`},
		{"unknown user", fmt.Sprintf("config_path = %q\n  config_context_auth_info = \"nobody\"", kubeconfig), `(?s)Unknown user.*config_context_auth_info = `},
		{"unknown cluster", fmt.Sprintf("config_path = %q\n  config_context_cluster = \"c9\"", kubeconfig), `(?s)Unknown cluster.*config_context_cluster = `},
		{"malformed host", `host = "https://exa mple.com"`, `(?s)Invalid API server address.*host = `},
		{"host with another scheme", `host = "ftp://example.com"`, `(?s)Invalid API server address.*host = .*scheme "ftp"`},
		{"exec and token", `host = "https://127.0.0.1:6443"
  token = "t"
  exec {
    api_version = "client.authentication.k8s.io/v1"
    command     = "true"
  }`, `(?s)Conflicting credentials.*token = "t".*exec plugin or\s+the bearer token`},
		{"insecure with a CA", `host = "https://127.0.0.1:6443"
  insecure = true
  cluster_ca_certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"`, `(?s)Conflicting TLS settings.*insecure = true`},
		{"CA that is a path", `host = "https://127.0.0.1:6443"
  cluster_ca_certificate = "/etc/ca.crt"`, `(?s)Not PEM encoded.*cluster_ca_certificate = `},
		{"both config_path and config_paths", fmt.Sprintf("config_path = %q\n  config_paths = [%q]", kubeconfig, kubeconfig), `(?s)Invalid Attribute Combination.*"config_paths" cannot be specified when "config_path" is specified`},
		{"exec api version", `host = "https://127.0.0.1:6443"
  exec {
    api_version = "client.authentication.k8s.io/v1alpha1"
    command     = "true"
  }`, `(?s)Invalid Attribute Value Match.*api_version = .*value must be one of`},
		{"qps zero", `host = "https://127.0.0.1:6443"
  qps = 0`, `(?s)qps = 0.*must be at least 0.1`},
		{"burst without qps", `host = "https://127.0.0.1:6443"
  burst = 20`, `(?s)burst without qps.*burst = 20.*Set qps too`},
		{"password without username", `host = "https://127.0.0.1:6443"
  password = "p"`, `(?s)Missing username.*password = `},
	}}
}

// testKubeconfig writes a kubeconfig of an unreachable cluster for the
// provider's own checks (contexts, users, clusters).
func testKubeconfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c1, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: u1, user: {token: abc}}]
contexts: [{name: ctx1, context: {cluster: c1, user: u1}}]
current-context: ctx1
`), 0o600); err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

func TestProvider_badConfigurations(t *testing.T) {
	badProviderSettings(testKubeconfig(t)).runOffline(t)
}

// serviceAccountToken creates a service account allowed to read CRDs and returns
// a short-lived token for it (TokenRequest works on any cluster).
func serviceAccountToken(t *testing.T, c *acctest.Cluster) string {
	t.Helper()
	ctx := context.Background()
	kube := c.Clients(t).Kubernetes
	const name = "tfk-acctest"
	_, err := kube.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	_, err = kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, Verbs: []string{"get", "list"}}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	_, err = kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: "default"}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	expiry := int64(3600)
	tr, err := kube.CoreV1().ServiceAccounts("default").CreateToken(ctx, name,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("requesting a service account token: %v", err)
	}
	return tr.Status.Token
}

// pemBody is the base64 payload of a PEM block: the part that must not leak.
func pemBody(p string) string {
	lines := strings.Split(strings.TrimSpace(p), "\n")
	if len(lines) < 3 {
		return p
	}
	return strings.Join(lines[1:len(lines)-1], "\n")
}
