package kube

import (
	"errors"
	"sync"

	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/flowcontrol"
)

// Clients are the API clients every resource of one provider instance shares,
// so they share one rate limiter and one connection pool.
type Clients struct {
	REST          *rest.Config
	Kubernetes    kubernetes.Interface
	Dynamic       dynamic.Interface
	APIExtensions apiextensions.Interface
	FieldManager  string
}

// ErrSettingsUnknown is returned while the provider's connection settings
// depend on values Terraform only learns during apply.
var ErrSettingsUnknown = errors.New("the provider's connection settings are not known yet: they depend on resources " +
	"that are created during this apply (for example the cluster itself). Terraform configures the provider again " +
	"once they are known; data sources that need the cluster should depend on that resource")

// LazyClients builds Clients on first use, once. Configure runs on every plan,
// including plans for a cluster that does not exist yet, so it must not connect.
type LazyClients struct {
	once    sync.Once
	build   func() (*Clients, error)
	clients *Clients
	err     error
}

// NewLazyClients returns clients built from settings on first use.
func NewLazyClients(settings Settings) *LazyClients {
	return &LazyClients{build: func() (*Clients, error) { return NewClients(settings) }}
}

// UnavailableClients always fails with err; used while settings are unknown.
func UnavailableClients(err error) *LazyClients {
	return &LazyClients{build: func() (*Clients, error) { return nil, err }}
}

// ReadyClients wraps clients that already exist (benchmarks and tests that
// count or shape requests).
func ReadyClients(c *Clients) *LazyClients {
	return &LazyClients{build: func() (*Clients, error) { return c, nil }}
}

// Get returns the shared clients, building them on the first call.
func (l *LazyClients) Get() (*Clients, error) {
	l.once.Do(func() { l.clients, l.err = l.build() })
	return l.clients, l.err
}

// NewClients creates the clients for settings. Creating a client does not
// contact the API server.
func NewClients(settings Settings) (*Clients, error) {
	cfg, err := settings.RESTConfig()
	if err != nil {
		return nil, err
	}
	return ClientsFor(cfg, settings.FieldManager)
}

// ClientsFor creates clients from a REST config.
func ClientsFor(cfg *rest.Config, fieldManager string) (*Clients, error) {
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(explainUnreachable(cfg.Host))
	// One HTTP client for all typed and dynamic clients: one connection pool and
	// one rate limiter, shared by every resource of this provider instance.
	httpClient, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	if cfg.RateLimiter == nil && cfg.QPS > 0 {
		cfg.RateLimiter = flowcontrol.NewTokenBucketRateLimiter(cfg.QPS, cfg.Burst)
	}
	kube, err := kubernetes.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	ext, err := apiextensions.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, err
	}
	return &Clients{REST: cfg, Kubernetes: kube, Dynamic: dyn, APIExtensions: ext, FieldManager: fieldManager}, nil
}
