// Package kube turns the provider's connection settings into Kubernetes clients.
//
// Settings follow the hashicorp/kubernetes provider block (same attribute names,
// same KUBE_* environment variables) so users can copy theirs. Nothing here
// contacts the cluster: a REST config is assembled from files and values, and
// clients are created on first use.
package kube

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// DefaultFieldManager owns the fields the provider writes.
//
// There is no default client-side rate limit: API servers since 1.20 protect
// themselves with API Priority and Fairness, which SIG API Machinery
// recommends relying on (controller-runtime dropped its limiter for it), and
// terraform's parallelism already bounds the requests in flight. A token
// bucket of 50 per second made the refresh of 1,000 Services wait 20 s.
const DefaultFieldManager = "terraform-provider-knative"

// Settings is the connection configuration after environment defaults were applied.
type Settings struct {
	ConfigPaths           []string
	ConfigPathsAttribute  string // "config_path" or "config_paths": where ConfigPaths came from, for diagnostics
	ConfigContext         string
	ConfigContextAuthInfo string
	ConfigContextCluster  string

	Host                 string
	Username             string
	Password             string
	Token                string
	ClientCertificate    string
	ClientKey            string
	ClusterCACertificate string
	Insecure             bool
	TLSServerName        string
	ProxyURL             string
	Exec                 *ExecSettings

	// QPS and Burst limit the requests of all clients of the settings;
	// QPS 0 sets no client-side limit, Burst 0 is twice QPS.
	QPS          float32
	Burst        int
	FieldManager string

	// LogWarning receives the API server's warnings (see WarningHandler);
	// client-go's default prints them to stderr.
	LogWarning func(ctx context.Context, text string)
}

// ExecSettings configures a client-go credential plugin.
type ExecSettings struct {
	APIVersion string
	Command    string
	Args       []string
	Env        map[string]string
}

// FieldError is a problem with one provider attribute. Attribute is the
// attribute's name in the provider block, so diagnostics can point at it.
type FieldError struct {
	Attribute string
	Summary   string
	Detail    string
}

func (e *FieldError) Error() string { return e.Attribute + ": " + e.Summary + ": " + e.Detail }

func fieldError(attr, summary, format string, args ...any) *FieldError {
	return &FieldError{Attribute: attr, Summary: summary, Detail: fmt.Sprintf(format, args...)}
}

// ErrNoConfiguration says that no way to reach a cluster was given.
var ErrNoConfiguration = errors.New("no Kubernetes cluster is configured: set config_path (or KUBE_CONFIG_PATH), " +
	"or host with credentials (or KUBE_HOST), or run Terraform in a pod for in-cluster configuration")

// Validate checks combinations of settings that client-go would reject later or
// that cannot mean what the user intended. It reads local files but never the cluster.
func (s *Settings) Validate() []*FieldError {
	var errs []*FieldError
	add := func(e *FieldError) { errs = append(errs, e) }

	if s.Host != "" {
		if err := validateHost(s.Host); err != nil {
			add(fieldError("host", "Invalid API server address", "%q is not a valid API server address (%s). Use https://HOST[:PORT], for example https://127.0.0.1:6443.", s.Host, err))
		}
	}
	if s.ProxyURL != "" {
		if u, err := url.Parse(s.ProxyURL); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
			add(fieldError("proxy_url", "Invalid proxy URL", "%q is not a valid proxy URL. Use http://, https:// or socks5:// followed by HOST:PORT.", s.ProxyURL))
		}
	}
	if s.ClientKey != "" && s.ClientCertificate == "" {
		add(fieldError("client_key", "Missing client_certificate", "client_key was set without client_certificate. Set both to authenticate with a client certificate, or neither."))
	}
	if s.ClientCertificate != "" && s.ClientKey == "" {
		add(fieldError("client_certificate", "Missing client_key", "client_certificate was set without client_key. Set both to authenticate with a client certificate, or neither."))
	}
	for attr, value := range map[string]string{"client_certificate": s.ClientCertificate, "client_key": s.ClientKey, "cluster_ca_certificate": s.ClusterCACertificate} {
		if value != "" && !isPEM(value) {
			add(fieldError(attr, "Not PEM encoded", "%s must be PEM-encoded (starting with -----BEGIN). Pass the file's content, for example file(\"~/.kube/client.crt\"), not its path.", attr))
		}
	}
	if s.ClientCertificate != "" && s.ClientKey != "" && isPEM(s.ClientCertificate) && isPEM(s.ClientKey) {
		if _, err := tls.X509KeyPair([]byte(s.ClientCertificate), []byte(s.ClientKey)); err != nil {
			add(fieldError("client_key", "Client key does not match", "client_key and client_certificate do not form a valid key pair: %s.", err))
		}
	}
	if s.Insecure && s.ClusterCACertificate != "" {
		add(fieldError("insecure", "Conflicting TLS settings", "insecure = true skips verification of the API server's certificate, so cluster_ca_certificate would be ignored. Remove one of them."))
	}
	if s.Exec != nil && s.Token != "" {
		add(fieldError("token", "Conflicting credentials", "Both token and exec are set. Use one way to authenticate: the exec plugin or the bearer token."))
	}
	if s.Username != "" && s.Password == "" {
		add(fieldError("username", "Missing password", "username was set without password. Basic authentication needs both."))
	}
	if s.Password != "" && s.Username == "" {
		add(fieldError("password", "Missing username", "password was set without username. Basic authentication needs both."))
	}
	if s.QPS < 0 {
		add(fieldError("qps", "Invalid value", "qps must be greater than 0 (leave it unset for no client-side limit)."))
	}
	switch {
	case s.Burst < 0:
		add(fieldError("burst", "Invalid value", "burst must be at least 1."))
	case s.Burst > 0 && s.QPS == 0:
		add(fieldError("burst", "burst without qps", "burst is how many requests may go above qps at once; without qps there is no client-side limit. Set qps too, or remove burst."))
	}
	if len(s.ConfigPaths) > 0 {
		if cfgErr := s.validateKubeconfig(); cfgErr != nil {
			add(cfgErr)
		}
	}
	return errs
}

// validateKubeconfig loads the kubeconfig files and checks that the selected
// context, user and cluster exist, so a typo is reported at the attribute.
func (s *Settings) validateKubeconfig() *FieldError {
	for _, p := range s.ConfigPaths {
		if _, err := os.Stat(p); err != nil {
			return fieldError(s.ConfigPathsAttribute, "Cannot read kubeconfig",
				"%s. If this file is created during the same apply, pass its path from the resource that creates it, so Terraform waits for it.", err)
		}
	}
	raw, err := s.loadingRules().Load()
	if err != nil {
		return fieldError(s.ConfigPathsAttribute, "Invalid kubeconfig", "%s", err)
	}
	contextName := raw.CurrentContext
	if s.ConfigContext != "" {
		contextName = s.ConfigContext
		if _, ok := raw.Contexts[contextName]; !ok {
			return fieldError("config_context", "Unknown context", "context %q is not in %s. Known contexts: %s.", contextName, strings.Join(s.ConfigPaths, ", "), keys(raw.Contexts))
		}
	}
	if s.ConfigContextAuthInfo != "" {
		if _, ok := raw.AuthInfos[s.ConfigContextAuthInfo]; !ok {
			return fieldError("config_context_auth_info", "Unknown user", "user %q is not in %s. Known users: %s.", s.ConfigContextAuthInfo, strings.Join(s.ConfigPaths, ", "), keys(raw.AuthInfos))
		}
	}
	if s.ConfigContextCluster != "" {
		if _, ok := raw.Clusters[s.ConfigContextCluster]; !ok {
			return fieldError("config_context_cluster", "Unknown cluster", "cluster %q is not in %s. Known clusters: %s.", s.ConfigContextCluster, strings.Join(s.ConfigPaths, ", "), keys(raw.Clusters))
		}
	}
	if contextName == "" && s.Host == "" {
		return fieldError("config_context", "No context selected", "%s has no current-context. Set config_context to one of: %s.", strings.Join(s.ConfigPaths, ", "), keys(raw.Contexts))
	}
	return nil
}

// RESTConfig assembles a client-go REST config. It does not contact the cluster.
func (s *Settings) RESTConfig() (*rest.Config, error) {
	overrides := &clientcmd.ConfigOverrides{
		CurrentContext: s.ConfigContext,
		Context: clientcmdapi.Context{
			AuthInfo: s.ConfigContextAuthInfo,
			Cluster:  s.ConfigContextCluster,
		},
		ClusterInfo: clientcmdapi.Cluster{
			InsecureSkipTLSVerify: s.Insecure,
			TLSServerName:         s.TLSServerName,
			ProxyURL:              s.ProxyURL,
		},
		AuthInfo: clientcmdapi.AuthInfo{
			Token:    s.Token,
			Username: s.Username,
			Password: s.Password,
		},
	}
	if s.Host != "" {
		// Like the kubernetes provider: a bare HOST[:PORT] means https.
		overrides.ClusterInfo.Server = s.Host
		if !strings.Contains(s.Host, "://") {
			overrides.ClusterInfo.Server = "https://" + s.Host
		}
	}
	if s.ClusterCACertificate != "" {
		overrides.ClusterInfo.CertificateAuthorityData = []byte(s.ClusterCACertificate)
	}
	if s.ClientCertificate != "" {
		overrides.AuthInfo.ClientCertificateData = []byte(s.ClientCertificate)
		overrides.AuthInfo.ClientKeyData = []byte(s.ClientKey)
	}
	if s.Exec != nil {
		exec := &clientcmdapi.ExecConfig{
			APIVersion:      s.Exec.APIVersion,
			Command:         s.Exec.Command,
			Args:            s.Exec.Args,
			InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		}
		for name, value := range s.Exec.Env {
			exec.Env = append(exec.Env, clientcmdapi.ExecEnvVar{Name: name, Value: value})
		}
		overrides.AuthInfo.Exec = exec
	}

	if len(s.ConfigPaths) == 0 && s.Host == "" {
		if os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
			cfg, err := rest.InClusterConfig()
			if err != nil {
				return nil, fmt.Errorf("in-cluster configuration: %w", err)
			}
			return s.tune(cfg), nil
		}
		return nil, ErrNoConfiguration
	}

	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(s.loadingRules(), overrides).ClientConfig()
	if err != nil {
		return nil, err
	}
	return s.tune(cfg), nil
}

func (s *Settings) tune(cfg *rest.Config) *rest.Config {
	cfg.QPS, cfg.Burst = s.QPS, s.Burst
	switch {
	case s.QPS <= 0:
		cfg.QPS, cfg.Burst = -1, 0 // client-go's "no rate limiter"; 0 would mean its 5 per second
	case s.Burst <= 0:
		cfg.Burst = max(1, int(2*s.QPS))
	}
	cfg.UserAgent = s.FieldManager
	if s.LogWarning != nil {
		cfg.WarningHandlerWithContext = WarningHandler(s.LogWarning)
	}
	return cfg
}

// loadingRules reads only the files the user named: never KUBECONFIG or
// ~/.kube/config implicitly, so a plan cannot silently target another cluster.
func (s *Settings) loadingRules() *clientcmd.ClientConfigLoadingRules {
	return &clientcmd.ClientConfigLoadingRules{Precedence: s.ConfigPaths}
}

// ExpandPath resolves a leading ~ like the kubernetes provider does.
func ExpandPath(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	return p
}

func validateHost(host string) error {
	raw := host
	if !strings.Contains(host, "://") {
		raw = "https://" + host
	}
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return fmt.Errorf("scheme %q is not http or https", u.Scheme)
	case u.Hostname() == "":
		return errors.New("no host name")
	case strings.ContainsAny(u.Host, " \t"):
		return errors.New("white space in the host name")
	}
	return nil
}

func isPEM(s string) bool {
	block, _ := pem.Decode([]byte(s))
	return block != nil
}

func keys[V any](m map[string]V) string {
	if len(m) == 0 {
		return "(none)"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}
