package kube

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	err := os.WriteFile(p, []byte(`apiVersion: v1
kind: Config
clusters:
- {name: a, cluster: {server: "https://a.example:6443"}}
- {name: b, cluster: {server: "https://b.example:6443"}}
users:
- {name: alice, user: {token: alice-token}}
- {name: bob, user: {token: bob-token}}
contexts:
- {name: ctx-a, context: {cluster: a, user: alice}}
- {name: ctx-b, context: {cluster: b, user: bob}}
current-context: ctx-a
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRESTConfig(t *testing.T) {
	kubeconfig := writeKubeconfig(t)
	for _, tc := range []struct {
		name       string
		settings   Settings
		wantHost   string
		wantToken  string
		wantErr    error
		wantErrHas string
	}{
		{name: "current context", settings: Settings{ConfigPaths: []string{kubeconfig}}, wantHost: "https://a.example:6443", wantToken: "alice-token"},
		{name: "named context", settings: Settings{ConfigPaths: []string{kubeconfig}, ConfigContext: "ctx-b"}, wantHost: "https://b.example:6443", wantToken: "bob-token"},
		{name: "context with another user and cluster", settings: Settings{ConfigPaths: []string{kubeconfig}, ConfigContextAuthInfo: "bob", ConfigContextCluster: "b"}, wantHost: "https://b.example:6443", wantToken: "bob-token"},
		{name: "explicit values win over the kubeconfig", settings: Settings{ConfigPaths: []string{kubeconfig}, Host: "https://c.example", Token: "t"}, wantHost: "https://c.example", wantToken: "t"},
		{name: "bare host means https", settings: Settings{Host: "10.0.0.1:6443", Token: "t"}, wantHost: "https://10.0.0.1:6443", wantToken: "t"},
		{name: "nothing configured", settings: Settings{}, wantErr: ErrNoConfiguration},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The default kubeconfig locations must never be read implicitly.
			t.Setenv("KUBECONFIG", kubeconfig)
			t.Setenv("KUBERNETES_SERVICE_HOST", "")
			tc.settings.QPS, tc.settings.Burst, tc.settings.FieldManager = 42, 84, "fm"
			cfg, err := tc.settings.RESTConfig()
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Host != tc.wantHost || cfg.BearerToken != tc.wantToken {
				t.Errorf("got host %q token %q, want %q %q", cfg.Host, cfg.BearerToken, tc.wantHost, tc.wantToken)
			}
			if cfg.QPS != 42 || cfg.Burst != 84 || cfg.UserAgent != "fm" {
				t.Errorf("client tuning not applied: qps %v burst %v user agent %q", cfg.QPS, cfg.Burst, cfg.UserAgent)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	kubeconfig := writeKubeconfig(t)
	base := func() Settings { return Settings{QPS: 5, Burst: 10} }
	for _, tc := range []struct {
		name     string
		mutate   func(*Settings)
		wantAttr string // empty: valid
	}{
		{"valid kubeconfig", func(s *Settings) { s.ConfigPaths, s.ConfigPathsAttribute = []string{kubeconfig}, "config_path" }, ""},
		{"valid host and token", func(s *Settings) { s.Host, s.Token = "https://h:6443", "t" }, ""},
		{"missing file", func(s *Settings) { s.ConfigPaths, s.ConfigPathsAttribute = []string{"/nope"}, "config_paths" }, "config_paths"},
		{"unknown context", func(s *Settings) {
			s.ConfigPaths, s.ConfigPathsAttribute, s.ConfigContext = []string{kubeconfig}, "config_path", "x"
		}, "config_context"},
		{"host with path only", func(s *Settings) { s.Host = "https://" }, "host"},
		{"proxy without scheme", func(s *Settings) { s.Host, s.ProxyURL = "https://h", "proxy:3128" }, "proxy_url"},
		{"burst negative", func(s *Settings) { s.Host, s.Burst = "https://h", -1 }, "burst"},
		{"qps negative", func(s *Settings) { s.Host, s.QPS = "https://h", -1 }, "qps"},
		{"burst without qps", func(s *Settings) { s.Host, s.QPS = "https://h", 0 }, "burst"},
		{"neither qps nor burst", func(s *Settings) { s.Host, s.QPS, s.Burst = "https://h", 0, 0 }, ""},
		{"username without password", func(s *Settings) { s.Host, s.Username = "https://h", "u" }, "username"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := base()
			tc.mutate(&s)
			errs := s.Validate()
			if tc.wantAttr == "" {
				if len(errs) > 0 {
					t.Fatalf("unexpected errors: %v", errs)
				}
				return
			}
			if len(errs) != 1 || errs[0].Attribute != tc.wantAttr {
				t.Fatalf("want one error at %s, got %v", tc.wantAttr, errs)
			}
			if strings.TrimSpace(errs[0].Detail) == "" {
				t.Error("error without detail")
			}
		})
	}
}

// Unset, qps leaves the client without a token bucket (client-go reads a
// QPS of 0 as its default of 5 per second, so "none" must be negative).
func TestRateLimitDefaults(t *testing.T) {
	for _, tc := range []struct {
		qps       float32
		burst     int
		wantQPS   float32
		wantBurst int
	}{
		{0, 0, -1, 0},
		{20, 0, 20, 40},
		{0.2, 0, 0.2, 1},
		{20, 5, 20, 5},
	} {
		cfg, err := (&Settings{Host: "https://h", Token: "t", QPS: tc.qps, Burst: tc.burst}).RESTConfig()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.QPS != tc.wantQPS || cfg.Burst != tc.wantBurst {
			t.Errorf("qps %v burst %v: client got qps %v burst %v, want %v %v", tc.qps, tc.burst, cfg.QPS, cfg.Burst, tc.wantQPS, tc.wantBurst)
		}
		clients, err := ClientsFor(cfg, DefaultFieldManager)
		if err != nil {
			t.Fatal(err)
		}
		if limited := clients.Kubernetes.CoreV1().RESTClient().GetRateLimiter() != nil; limited != (tc.qps > 0) {
			t.Errorf("qps %v: rate limiter present %v", tc.qps, limited)
		}
	}
}
