package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/crossplane/crossplane-runtime/v2/pkg/logging"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/tf-knative/terraform-provider-knative/crossplane/apis"
	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	pcv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/kube/kubetest"
)

// How a managed resource's provider config becomes clients of its target
// cluster, on controller-runtime's fake client.

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: target
  cluster: {server: "https://target.example.com:6443"}
- name: other
  cluster: {server: "https://other.example.com:6443"}
contexts:
- name: target
  context: {cluster: target, user: admin}
- name: other
  context: {cluster: other, user: admin}
current-context: target
users:
- name: admin
  user: {token: secret-token}
`

func fakeControlPlane(t *testing.T, objs ...client.Object) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := apis.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
}

func secretConfig(namespace, context string) pcv1alpha1.ProviderConfigSpec {
	return pcv1alpha1.ProviderConfigSpec{Context: context, Credentials: pcv1alpha1.ProviderCredentials{
		Source: xpv2.CredentialsSourceSecret, SecretRef: &pcv1alpha1.SecretKeySelector{Name: "target", Namespace: namespace, Key: "kubeconfig"}}}
}

func TestConnect(t *testing.T) {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "target", Namespace: "apps"}, Data: map[string][]byte{"kubeconfig": []byte(kubeconfig), "broken": []byte("not: [a kubeconfig")}}
	pc := &pcv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: "apps"}, Spec: secretConfig("", "")}
	other := &pcv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "apps"}, Spec: secretConfig("", "other")}
	broken := &pcv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: "apps"}, Spec: secretConfig("", "")}
	broken.Spec.Credentials.SecretRef.Key = "broken"
	noRef := &pcv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "no-ref", Namespace: "apps"}, Spec: pcv1alpha1.ProviderConfigSpec{Credentials: pcv1alpha1.ProviderCredentials{Source: xpv2.CredentialsSourceSecret}}}
	unsupported := &pcv1alpha1.ProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "env", Namespace: "apps"}, Spec: pcv1alpha1.ProviderConfigSpec{Credentials: pcv1alpha1.ProviderCredentials{Source: xpv2.CredentialsSourceEnvironment}}}
	cpc := &pcv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "cluster"}, Spec: secretConfig("apps", "")}
	cpcNoNamespace := &pcv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "no-namespace"}, Spec: secretConfig("", "")}
	identity := &pcv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "identity"}, Spec: pcv1alpha1.ProviderConfigSpec{
		QPS: ptr(int32(5)), Burst: ptr(int32(10)), Credentials: pcv1alpha1.ProviderCredentials{Source: xpv2.CredentialsSourceInjectedIdentity}}}
	controlPlane := fakeControlPlane(t, secret, pc, other, broken, noRef, unsupported, cpc, cpcNoNamespace, identity)
	conn := newConnector(controlPlane, &rest.Config{Host: "https://control-plane.example.com"}, &clientCache{clients: map[string]*kube.Clients{}})

	service := func(namespace, kind, name string) *servingv1alpha1.Service {
		mg := &servingv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: namespace, UID: "uid-1"}}
		if kind != "" {
			mg.SetProviderConfigReference(&xpv2.ProviderConfigReference{Kind: kind, Name: name})
		}
		return mg
	}
	for _, tc := range []struct {
		name string
		mg   resource.ModernManaged
		host string // the target's API server, or
		err  string // the error
	}{
		{name: "ProviderConfig with a kubeconfig Secret", mg: service("apps", "ProviderConfig", "default"), host: "https://target.example.com:6443"},
		{name: "its context", mg: service("apps", "ProviderConfig", "other"), host: "https://other.example.com:6443"},
		{name: "ClusterProviderConfig", mg: service("apps", "ClusterProviderConfig", "cluster"), host: "https://target.example.com:6443"},
		{name: "InjectedIdentity", mg: service("apps", "ClusterProviderConfig", "identity"), host: "https://control-plane.example.com"},
		{name: "no reference", mg: service("apps", "", ""), err: "no providerConfigRef"},
		{name: "unknown kind", mg: service("apps", "Secret", "x"), err: `providerConfigRef.kind "Secret" is neither ProviderConfig nor ClusterProviderConfig`},
		{name: "no such ProviderConfig", mg: service("apps", "ProviderConfig", "missing"), err: "cannot get ProviderConfig apps/missing"},
		{name: "no such ClusterProviderConfig", mg: service("apps", "ClusterProviderConfig", "missing"), err: "cannot get ClusterProviderConfig missing"},
		{name: "a cluster-scoped MR with a ProviderConfig", mg: func() resource.ModernManaged {
			mg := &servingv1alpha1.ServingRuntime{ObjectMeta: metav1.ObjectMeta{Name: "serving", UID: "uid-2"}}
			mg.SetProviderConfigReference(&xpv2.ProviderConfigReference{Kind: "ProviderConfig", Name: "default"})
			return mg
		}(), err: `must use a ClusterProviderConfig, not ProviderConfig "default"`},
		{name: "not a kubeconfig", mg: service("apps", "ProviderConfig", "broken"), err: "the kubeconfig in credentials.secretRef is not valid"},
		{name: "no secretRef", mg: service("apps", "ProviderConfig", "no-ref"), err: "credentials.source is Secret but credentials.secretRef is not set"},
		{name: "no Secret namespace in a ClusterProviderConfig", mg: service("apps", "ClusterProviderConfig", "no-namespace"), err: "credentials.secretRef.namespace is required in a ClusterProviderConfig"},
		{name: "an unsupported source", mg: service("apps", "ProviderConfig", "env"), err: `credentials.source "Environment" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clients, err := conn.connect(context.Background(), tc.mg)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("connect = %v, want %q", err, tc.err)
				}
				if strings.Contains(err.Error(), "secret-token") {
					t.Errorf("the error shows the credentials: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if clients.REST.Host != tc.host || clients.FieldManager != FieldManager {
				t.Errorf("clients of %s (manager %s), want %s", clients.REST.Host, clients.FieldManager, tc.host)
			}
			again, _ := conn.connect(context.Background(), tc.mg)
			if again != clients {
				t.Error("a second connect built new clients: polls would not share a connection pool")
			}
		})
	}
	// Every connect records the usage, so a config in use is not deleted.
	usages := &pcv1alpha1.ProviderConfigUsageList{}
	if err := controlPlane.List(context.Background(), usages); err != nil || len(usages.Items) == 0 {
		t.Errorf("ProviderConfigUsages = %d, %v", len(usages.Items), err)
	}
}

func TestConnectors(t *testing.T) {
	controlPlane := fakeControlPlane(t)
	conn := newConnector(controlPlane, &rest.Config{Host: "https://control-plane.example.com"}, &clientCache{clients: map[string]*kube.Clients{}})
	conn.clients.clients["identity/50/100"] = kubetestClients()
	ctx := context.Background()
	ref := &xpv2.ProviderConfigReference{Kind: "ClusterProviderConfig", Name: "identity"}
	if err := controlPlane.Create(ctx, &pcv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "identity"},
		Spec: pcv1alpha1.ProviderConfigSpec{Credentials: pcv1alpha1.ProviderCredentials{Source: xpv2.CredentialsSourceInjectedIdentity}}}); err != nil {
		t.Fatal(err)
	}
	svc := &servingv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "apps", UID: "1"}}
	svc.SetProviderConfigReference(ref)
	if _, err := (&objectConnector[*servingv1alpha1.Service]{connector: conn, kind: serviceKind, record: &recorder{}}).Connect(ctx, svc); err != nil {
		t.Error(err)
	}
	cfg := &servingv1alpha1.ServingConfig{ObjectMeta: metav1.ObjectMeta{Name: "autoscaler", Namespace: "apps", UID: "2"}}
	cfg.SetProviderConfigReference(ref)
	if _, err := (&servingConfigConnector{connector: conn}).Connect(ctx, cfg); err != nil {
		t.Error(err)
	}
	rt := &servingv1alpha1.ServingRuntime{ObjectMeta: metav1.ObjectMeta{Name: "serving", UID: "3"}}
	rt.SetProviderConfigReference(ref)
	if _, err := (&servingRuntimeConnector{connector: conn, log: logging.NewNopLogger()}).Connect(ctx, rt); err != nil {
		t.Error(err)
	}
	// Without a usable config every connector fails the same way.
	bad := &servingv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "apps"}}
	if _, err := (&objectConnector[*servingv1alpha1.Service]{connector: conn, kind: serviceKind}).Connect(ctx, bad); err == nil {
		t.Error("connected without a providerConfigRef")
	}
	if _, err := (&servingConfigConnector{connector: conn}).Connect(ctx, &servingv1alpha1.ServingConfig{}); err == nil {
		t.Error("connected without a providerConfigRef")
	}
	if _, err := (&servingRuntimeConnector{connector: conn, log: logging.NewNopLogger()}).Connect(ctx, &servingv1alpha1.ServingRuntime{}); err == nil {
		t.Error("connected without a providerConfigRef")
	}
}

func kubetestClients() *kube.Clients { return kubetest.New().Clients }

// A target's client runs at the provider's default rate, which follows its
// reconcile rate as crossplane-runtime's control plane client does, unless
// its provider config sets one.
func TestTargetClientRate(t *testing.T) {
	if qps, burst := defaultTargetRate(DefaultMaxReconcileRate); qps != 250 || burst != 500 {
		t.Fatalf("default target rate %v/%v, want 250/500", qps, burst)
	}
	unset := &pcv1alpha1.ClusterProviderConfig{ObjectMeta: metav1.ObjectMeta{Name: "unset"}, Spec: pcv1alpha1.ProviderConfigSpec{
		Credentials: pcv1alpha1.ProviderCredentials{Source: xpv2.CredentialsSourceInjectedIdentity}}}
	set := unset.DeepCopy()
	set.Name, set.Spec.QPS, set.Spec.Burst = "set", ptr(int32(5)), ptr(int32(10))
	qps, burst := defaultTargetRate(DefaultMaxReconcileRate)
	conn := newConnector(fakeControlPlane(t, unset, set), &rest.Config{Host: "https://control-plane.example.com"},
		&clientCache{clients: map[string]*kube.Clients{}, qps: qps, burst: burst})
	for name, want := range map[string]float32{"unset": 250, "set": 5} {
		mg := &servingv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "apps", UID: "uid-1"}}
		mg.SetProviderConfigReference(&xpv2.ProviderConfigReference{Kind: "ClusterProviderConfig", Name: name})
		clients, err := conn.connect(context.Background(), mg)
		if err != nil {
			t.Fatal(err)
		}
		if clients.REST.QPS != want {
			t.Errorf("%s: the target client's QPS is %v, want %v", name, clients.REST.QPS, want)
		}
	}
}
