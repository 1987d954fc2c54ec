package serving

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	netcfg "knative.dev/networking/pkg/config"
	"knative.dev/pkg/leaderelection"
	"knative.dev/pkg/logging"
	apisconfig "knative.dev/serving/pkg/apis/config"
	asconfig "knative.dev/serving/pkg/autoscaler/config"
	"knative.dev/serving/pkg/deployment"
	"knative.dev/serving/pkg/gc"
	servingobservability "knative.dev/serving/pkg/observability"
	certconfig "knative.dev/serving/pkg/reconciler/certificate/config"
	routeconfig "knative.dev/serving/pkg/reconciler/route/config"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

// ExampleKey holds a config map's documentation; Knative's webhook refuses edits to it.
const ExampleKey = "_example"

// configParsers validate a config map's data with Knative's own parsers, the
// ones its controllers and webhook use. Maps without a parser are only checked
// for unknown keys.
var configParsers = map[string]func(map[string]string) (any, error){
	"autoscaler": func(d map[string]string) (any, error) { return asconfig.NewConfigFromMap(d) },
	"certmanager": func(d map[string]string) (any, error) {
		return certconfig.NewCertManagerConfigFromConfigMap(configMap(d))
	},
	"defaults":   func(d map[string]string) (any, error) { return apisconfig.NewDefaultsConfigFromMap(d) },
	"deployment": func(d map[string]string) (any, error) { return deployment.NewConfigFromMap(d) },
	"domain":     func(d map[string]string) (any, error) { return routeconfig.NewDomainFromConfigMap(configMap(d)) },
	"features":   func(d map[string]string) (any, error) { return apisconfig.NewFeaturesConfigFromMap(d) },
	"gc": func(d map[string]string) (any, error) {
		return gc.NewConfigFromConfigMapFunc(context.Background())(configMap(d))
	},
	"leader-election": func(d map[string]string) (any, error) { return leaderelection.NewConfigFromMap(d) },
	"logging":         func(d map[string]string) (any, error) { return logging.NewConfigFromMap(d) },
	"network":         func(d map[string]string) (any, error) { return netcfg.NewConfigFromMap(d) },
	"observability":   func(d map[string]string) (any, error) { return servingobservability.NewFromMap(d) },
	"tracing":         nil,
}

// layerConfigs are the networking layers' config maps in knative-serving
// (present while that layer is installed). The net-* modules are not on the
// module proxy, so their parsers cannot be used: the keys naming gateways are
// checked as the layer reads them (see ingress.go), the others for being known.
var layerConfigs = map[string]func(map[string]string) error{
	"kourier": nil,
	"istio":   func(d map[string]string) error { _, _, err := istioGateways(d); return err },
	"contour": func(d map[string]string) error { _, _, err := contourServices(d); return err },
	"gateway": func(d map[string]string) error { _, _, err := gatewayAPIGateways(d); return err },
}

// ConfigNames are the config maps of knative-serving, without the config- prefix.
func ConfigNames() []string {
	names := make([]string, 0, len(configParsers)+len(layerConfigs))
	for name := range configParsers {
		names = append(names, name)
	}
	for name := range layerConfigs {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func configMap(data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{Data: data}
}

// ValidateConfig checks data for config-<name> with Knative's parser. Keys the
// release itself sets (such as config-deployment's queue-sidecar-image) are
// filled in from the release when data does not have them, as on the cluster.
func ValidateConfig(name string, data map[string]string) error {
	if name == "domain" {
		for k := range data {
			if msgs := validation.IsDNS1123Subdomain(k); len(msgs) > 0 && k != ExampleKey {
				return fmt.Errorf("%q is not a domain Knative can serve: %s", k, strings.Join(msgs, "; "))
			}
		}
	}
	if name == "features" {
		// A feature flag Knative cannot read is off (or whatever its default
		// is), silently: a misspelt "enabled" must not pass.
		for _, k := range IneffectiveConfigValues(name, data) {
			if !slices.Contains([]string{"enabled", "disabled", "allowed", "allowrootbounded"}, strings.ToLower(strings.TrimSpace(data[k]))) {
				return fmt.Errorf("%s: a feature flag is Enabled, Disabled or Allowed; Knative would ignore %q and keep the default", k, data[k])
			}
		}
	}
	if validate := layerConfigs[name]; validate != nil {
		return validate(data)
	}
	parsed, err := parseConfig(name, data)
	if err != nil {
		return err
	}
	if d, ok := parsed.(*apisconfig.Defaults); ok {
		// Knative reads a negative default timeout, and then refuses every
		// Revision it is defaulted into (timeoutSeconds is 0 or more).
		for _, t := range []struct {
			key   string
			value int64
		}{
			{"revision-timeout-seconds", d.RevisionTimeoutSeconds},
			{"max-revision-timeout-seconds", d.MaxRevisionTimeoutSeconds},
			{"revision-response-start-timeout-seconds", d.RevisionResponseStartTimeoutSeconds},
			{"revision-idle-timeout-seconds", d.RevisionIdleTimeoutSeconds},
		} {
			if t.value < 0 {
				return fmt.Errorf("%s: %d is negative; Knative would refuse every Revision this default applies to (a timeout is 0 or more seconds)", t.key, t.value)
			}
		}
	}
	return nil
}

// parseConfig is config-<name> as Knative reads data on the cluster; nil
// for a map without a parser.
func parseConfig(name string, data map[string]string) (any, error) {
	parse := configParsers[name]
	if parse == nil {
		return nil, nil
	}
	merged := map[string]string{}
	for k, v := range releaseConfigData(name) {
		if k != ExampleKey {
			merged[k] = v
		}
	}
	for k, v := range data {
		merged[k] = v
	}
	return parse(merged)
}

// ReleaseConfigValue is the value the release sets for key in config-<name>;
// empty when it sets none (the key's default is built in).
func ReleaseConfigValue(name, key string) string { return releaseConfigData(name)[key] }

// IneffectiveConfigValues lists the keys of data whose value changes nothing
// in how Knative reads config-<name>: a value its parser cannot read (a
// misspelt feature flag, a duration without its unit) is silently replaced
// by the default, and the cluster behaves other than the configuration says.
func IneffectiveConfigValues(name string, data map[string]string) []string {
	if configParsers[name] == nil || name == "domain" {
		return nil
	}
	defaults, err := parseConfig(name, nil)
	if err != nil {
		return nil
	}
	release := releaseConfigData(name)
	var keys []string
	for k, v := range data {
		if k == ExampleKey || strings.EqualFold(strings.TrimSpace(v), strings.TrimSpace(release[k])) || !knownConfigKeys(name)[k] {
			continue
		}
		parsed, err := parseConfig(name, map[string]string{k: v})
		if err == nil && reflect.DeepEqual(parsed, defaults) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// UnknownConfigKeys lists keys of data that config-<name>'s documentation
// (its _example) does not mention: Knative ignores them silently. The domain
// map's keys are domain names, so none is unknown there.
func UnknownConfigKeys(name string, data map[string]string) []string {
	if name == "domain" {
		return nil
	}
	known := knownConfigKeys(name)
	if len(known) == 0 {
		return nil
	}
	var unknown []string
	for k := range data {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	return unknown
}

// exampleKeyLine matches "key: value" lines of an _example block.
var exampleKeyLine = regexp.MustCompile(`^\s*([A-Za-z0-9][A-Za-z0-9._/-]*):`)

func knownConfigKeys(name string) map[string]bool {
	known := map[string]bool{}
	for k := range releaseConfigData(name) {
		known[k] = true
	}
	for _, line := range strings.Split(releaseConfigData(name)[ExampleKey], "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if m := exampleKeyLine.FindStringSubmatch(line); m != nil {
			known[m[1]] = true
		}
	}
	delete(known, ExampleKey)
	return known
}

// releaseConfigData is the data of config-<name> as the default release ships it.
func releaseConfigData(name string) map[string]string { return releaseConfigs()["config-"+name] }

// releaseConfigs parses the embedded release once, on first use.
var releaseConfigs = sync.OnceValue(func() map[string]map[string]string {
	out := map[string]map[string]string{}
	objs, err := Desired(Spec{Version: manifests.DefaultVersion, Ingress: manifests.DefaultIngress})
	if err != nil {
		return out
	}
	for _, ingress := range manifests.Ingresses() {
		if ingress != manifests.DefaultIngress {
			layer, err := manifests.LoadIngress(manifests.DefaultVersion, ingress)
			if err != nil {
				return out
			}
			objs = append(objs, layer...)
		}
	}
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetNamespace() == Namespace {
			out[o.GetName()], _, _ = unstructured.NestedStringMap(o.Object, "data")
		}
	}
	return out
})

// Config manages some keys of one knative-serving config map with its own
// field manager: keys owned by the runtime installer or anyone else are never
// touched, and a key another manager owns is a conflict, not an overwrite.
type Config struct {
	Clients *kube.Clients
	Name    string // without the config- prefix
}

// ConfigMapName is the config map's full name.
func (c *Config) ConfigMapName() string { return "config-" + c.Name }

// FieldManager owns the keys of one config map; one resource per config map.
func (c *Config) FieldManager() string { return c.Clients.FieldManager + "/" + c.ConfigMapName() }

// ErrConfigMapMissing means Knative Serving (its config map) is not installed.
var ErrConfigMapMissing = errors.New("the config map does not exist: Knative Serving is not installed")

// Apply sets data (and removes keys this manager set before and data lacks).
// A key another writer owns is a conflict, reported as an error, unless it is
// in reclaim: keys this resource already managed, which another writer changed
// since (drift), are taken back.
func (c *Config) Apply(ctx context.Context, data map[string]string, reclaim map[string]bool) error {
	cms := c.Clients.Kubernetes.CoreV1().ConfigMaps(Namespace)
	if _, err := cms.Get(ctx, c.ConfigMapName(), metav1.GetOptions{}); apierrors.IsNotFound(err) {
		return fmt.Errorf("%s/%s: %w", Namespace, c.ConfigMapName(), ErrConfigMapMissing)
	} else if err != nil {
		return err
	}
	cfg := applycorev1.ConfigMap(c.ConfigMapName(), Namespace)
	if len(data) > 0 {
		cfg = cfg.WithData(data)
	}
	_, err := cms.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: c.FieldManager()})
	if !apierrors.IsConflict(err) {
		return err
	}
	var foreign []string
	for _, key := range conflictingKeys(err) {
		if !reclaim[key] {
			foreign = append(foreign, key)
		}
	}
	if len(foreign) > 0 {
		return fmt.Errorf("%s managed by another writer (the runtime's installer, an operator, kubectl...), so it is left alone: %w. "+
			"Stop setting it here, or have that writer stop managing it", strings.Join(foreign, ", "), err)
	}
	_, err = cms.Apply(ctx, cfg, metav1.ApplyOptions{FieldManager: c.FieldManager(), Force: true})
	return err
}

// conflictingKeys are the data keys a server-side apply conflict names.
func conflictingKeys(err error) []string {
	status, ok := err.(apierrors.APIStatus)
	if !ok || status.Status().Details == nil {
		return []string{"(unknown key)"}
	}
	var keys []string
	for _, cause := range status.Status().Details.Causes {
		keys = append(keys, strings.TrimPrefix(cause.Field, ".data."))
	}
	return keys
}

// Read returns the config map's data and the keys each other field manager owns.
func (c *Config) Read(ctx context.Context) (data map[string]string, ownedByOthers map[string]string, err error) {
	obs, err := c.Observe(ctx)
	return obs.Data, obs.OwnedByOthers, err
}

// ConfigObservation is what a config map holds and who owns its keys.
type ConfigObservation struct {
	Data map[string]string
	// Owned are the keys this config's field manager set.
	Owned map[string]bool
	// OwnedByOthers maps the keys other field managers set to the manager.
	OwnedByOthers map[string]string
}

// Observe reads the config map and the owners of its keys (one GET).
func (c *Config) Observe(ctx context.Context) (ConfigObservation, error) {
	cm, err := c.Clients.Kubernetes.CoreV1().ConfigMaps(Namespace).Get(ctx, c.ConfigMapName(), metav1.GetOptions{})
	if err != nil {
		return ConfigObservation{}, err
	}
	obs := ConfigObservation{Data: cm.Data, Owned: map[string]bool{}, OwnedByOthers: map[string]string{}}
	for _, entry := range cm.ManagedFields {
		if entry.FieldsV1 == nil {
			continue
		}
		var fields map[string]map[string]any
		if json.Unmarshal(entry.FieldsV1.GetRawBytes(), &fields) != nil {
			continue
		}
		for key := range fields["f:data"] {
			key = strings.TrimPrefix(key, "f:")
			if entry.Manager == c.FieldManager() {
				obs.Owned[key] = true
			} else {
				obs.OwnedByOthers[key] = entry.Manager
			}
		}
	}
	return obs, nil
}
