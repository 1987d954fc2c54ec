// Package controller is the Crossplane frontend of the engine: one managed
// resource reconciler per kind (crossplane-runtime's), whose external clients
// translate the managed resources to and from the engine's objects.
package controller

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"sync"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pcv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// FieldManager owns the fields the provider applies to Knative objects; the
// Terraform provider uses a manager of its own.
const FieldManager = "crossplane-provider-knative"

// connector resolves a managed resource's ProviderConfig or
// ClusterProviderConfig into the engine's clients for the target cluster, and
// records that the managed resource uses that config.
type connector struct {
	kube       client.Client
	usage      *resource.ProviderConfigUsageTracker
	usageOfCPC *resource.ProviderConfigUsageTracker
	// identity is the provider's own REST config (InjectedIdentity).
	identity *rest.Config
	clients  *clientCache
	// watches, when set, watch what the managed resources manage.
	watches *targetWatches
}

func newConnector(kube client.Client, identity *rest.Config, clients *clientCache) *connector {
	return &connector{
		kube:       kube,
		usage:      resource.NewProviderConfigUsageTracker(kube, &pcv1alpha1.ProviderConfigUsage{}),
		usageOfCPC: resource.NewProviderConfigUsageTracker(kube, &pcv1alpha1.ClusterProviderConfigUsage{}),
		identity:   identity,
		clients:    clients,
	}
}

// connect returns the clients of the cluster mg's provider config names.
func (c *connector) connect(ctx context.Context, mg resource.ModernManaged) (*kube.Clients, error) {
	ref := mg.GetProviderConfigReference()
	if ref == nil {
		return nil, errors.New("no providerConfigRef")
	}
	var spec pcv1alpha1.ProviderConfigSpec
	secretNamespace := mg.GetNamespace()
	switch ref.Kind {
	case pcv1alpha1.ProviderConfigKind:
		if mg.GetNamespace() == "" {
			return nil, errors.Errorf("a cluster-scoped %s must use a ClusterProviderConfig, not ProviderConfig %q", mg.GetObjectKind().GroupVersionKind().Kind, ref.Name)
		}
		if err := c.usage.Track(ctx, mg); err != nil {
			return nil, errors.Wrap(err, "cannot track ProviderConfig usage")
		}
		pc := &pcv1alpha1.ProviderConfig{}
		if err := c.kube.Get(ctx, types.NamespacedName{Namespace: mg.GetNamespace(), Name: ref.Name}, pc); err != nil {
			return nil, errors.Wrapf(err, "cannot get ProviderConfig %s/%s", mg.GetNamespace(), ref.Name)
		}
		spec = pc.Spec
	case pcv1alpha1.ClusterProviderConfigKind:
		if err := c.usageOfCPC.Track(ctx, mg); err != nil {
			return nil, errors.Wrap(err, "cannot track ClusterProviderConfig usage")
		}
		cpc := &pcv1alpha1.ClusterProviderConfig{}
		if err := c.kube.Get(ctx, types.NamespacedName{Name: ref.Name}, cpc); err != nil {
			return nil, errors.Wrapf(err, "cannot get ClusterProviderConfig %s", ref.Name)
		}
		spec = cpc.Spec
		secretNamespace = ""
	default:
		return nil, errors.Errorf("providerConfigRef.kind %q is neither ProviderConfig nor ClusterProviderConfig", ref.Kind)
	}
	return c.clientsFor(ctx, spec, secretNamespace)
}

// clientsFor builds (or reuses) the clients a provider config describes.
func (c *connector) clientsFor(ctx context.Context, spec pcv1alpha1.ProviderConfigSpec, secretNamespace string) (*kube.Clients, error) {
	qps, burst := c.clients.qps, c.clients.burst
	if qps <= 0 || burst <= 0 {
		qps, burst = defaultTargetRate(DefaultMaxReconcileRate)
	}
	if spec.QPS != nil {
		qps = float32(*spec.QPS)
	}
	if spec.Burst != nil {
		burst = int(*spec.Burst)
	}
	switch spec.Credentials.Source {
	case xpv2.CredentialsSourceInjectedIdentity:
		return c.clients.get(fmt.Sprintf("identity/%v/%v", qps, burst), func() (*rest.Config, error) { return rest.CopyConfig(c.identity), nil }, qps, burst)
	case xpv2.CredentialsSourceSecret:
		ref := spec.Credentials.SecretRef
		if ref == nil {
			return nil, errors.New("credentials.source is Secret but credentials.secretRef is not set")
		}
		namespace := ref.Namespace
		if namespace == "" {
			namespace = secretNamespace
		}
		if namespace == "" {
			return nil, errors.New("credentials.secretRef.namespace is required in a ClusterProviderConfig")
		}
		selectors := xpv2.CommonCredentialSelectors{SecretRef: &xpv2.SecretKeySelector{
			SecretReference: xpv2.SecretReference{Name: ref.Name, Namespace: namespace}, Key: ref.Key,
		}}
		kubeconfig, err := resource.CommonCredentialExtractor(ctx, spec.Credentials.Source, c.kube, selectors)
		if err != nil {
			return nil, errors.Wrap(err, "cannot read the kubeconfig from credentials.secretRef")
		}
		key := fmt.Sprintf("secret/%x/%s/%v/%v", sha256.Sum256(kubeconfig), spec.Context, qps, burst)
		return c.clients.get(key, func() (*rest.Config, error) {
			cfg, err := clientcmd.Load(kubeconfig)
			if err != nil {
				return nil, errors.Wrap(err, "the kubeconfig in credentials.secretRef is not valid")
			}
			return clientcmd.NewDefaultClientConfig(*cfg, &clientcmd.ConfigOverrides{CurrentContext: spec.Context}).ClientConfig()
		}, qps, burst)
	}
	return nil, errors.Errorf("credentials.source %q is not supported: use Secret or InjectedIdentity", spec.Credentials.Source)
}

// clientCache keeps one set of clients (one connection pool and rate
// limiter) per target cluster configuration, so polls reuse them.
type clientCache struct {
	mu      sync.Mutex
	clients map[string]*kube.Clients
	// qps and burst are the target clients' rate when a provider config
	// sets none (defaultTargetRate; at the default reconcile rate when zero).
	qps   float32
	burst int
	wrap  func(http.RoundTripper) http.RoundTripper
	// warn receives the target API servers' warnings, which client-go would
	// otherwise print to stderr, outside the provider's log.
	warn func(ctx context.Context, text string)
}

func (c *clientCache) get(key string, config func() (*rest.Config, error), qps float32, burst int) (*kube.Clients, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if clients, ok := c.clients[key]; ok {
		return clients, nil
	}
	cfg, err := config()
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst, cfg.RateLimiter = qps, burst, nil
	if c.wrap != nil {
		cfg.Wrap(c.wrap)
	}
	cfg.WarningHandlerWithContext = kube.WarningHandler(c.warn)
	clients, err := kube.ClientsFor(cfg, FieldManager)
	if err != nil {
		return nil, err
	}
	c.clients[key] = clients
	return clients, nil
}
