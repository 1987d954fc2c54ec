package provider

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// NewServer is the provider's protocol 6 server: the plugin framework's, with
// shortcuts for what a plan asks of every unchanged resource, which the
// framework's generic decoding, checks and re-encoding of the large schemas
// make costly (BenchmarkServicePlanCPU: 17 ms of CPU for a knative_service's
// upgrade, refresh, validation and plan, against a GET's 0.5):
//
//   - A state stored by the current schema version needs no upgrade, and
//     terraform reads the answer as JSON as well as msgpack: the stored JSON
//     is returned as it is when every attribute in it is one the schema has
//     (the framework would drop the others).
//   - A configuration this build of the provider validated clean when it was
//     applied, byte for byte, is valid: validation is a function of the
//     configuration alone, and the apply records that it was clean in the
//     resource's private state, which the refresh before each validation
//     brings in (validatedConfigKey).
//   - A plan refreshes every knative_service, knative_route and
//     knative_domain_mapping (observedKinds), and when the live object is
//     still the version its state was computed from (which the resource
//     records in private state, observed.go), and a mapping's namespace still
//     holds the domain's claim where the state says so, the answer is the
//     prior state itself.
//   - A plan whose proposed new state is the prior state (the configuration
//     changes nothing) of such an object that was Ready is that state: the
//     framework and the resource's ModifyPlan would plan no change (no plan
//     modifier fires without a change, the plan-time dry-run and checks run
//     only for changes).
//
// Every other request, and every refresh that finds a change, goes to the
// framework.
func NewServer(version string) func() tfprotov6.ProviderServer {
	return func() tfprotov6.ProviderServer {
		p := &knativeProvider{version: version}
		return newServer(p, providerserver.NewProtocol6(p)())
	}
}

func newServer(p *knativeProvider, framework tfprotov6.ProviderServer) tfprotov6.ProviderServer {
	return &server{ProviderServer: framework, provider: p, build: buildOf(p.version)}
}

// buildOf names the build whose validation a memo records: the release
// version, or for a development build its commit when the tree was clean.
// Anything else (a modified tree, no version control information) is ""
// and records nothing, since its rules may change under the same name.
func buildOf(version string) string {
	if version != "dev" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	revision, modified := "", true
	for _, setting := range info.Settings {
		switch setting.Key {
		case "vcs.revision":
			revision = setting.Value
		case "vcs.modified":
			modified = setting.Value != "false"
		}
	}
	if revision == "" || modified {
		return ""
	}
	return "dev+" + revision
}

type server struct {
	tfprotov6.ProviderServer
	provider *knativeProvider

	stateTypesOnce sync.Once
	stateTypes     map[string]stateType // by resource type name

	build     string   // see buildOf; "" records no validation
	validated sync.Map // configurationDigest -> struct{}: validated clean by build
}

// validatedConfigKey names the private state entry recording that the
// resource's applied configuration was validated clean (validatedConfig).
const validatedConfigKey = "validated_config"

type validatedConfig struct {
	Digest string `json:"digest"` // configurationDigest
	Build  string `json:"build"`
}

// configurationDigest identifies a resource type's configuration, as
// terraform encodes it (msgpack of the value: the same value, the same bytes).
func configurationDigest(typeName string, config *tfprotov6.DynamicValue) string {
	if config == nil || len(config.MsgPack) == 0 || len(config.JSON) > 0 || bytes.Equal(config.MsgPack, msgpackNil) {
		return ""
	}
	h := sha256.New()
	h.Write([]byte(typeName))
	h.Write([]byte{0})
	h.Write(config.MsgPack)
	return hex.EncodeToString(h.Sum(nil))
}

// msgpackNil is a null value (a destroy's configuration).
var msgpackNil = []byte{0xc0}

func (s *server) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	if digest := configurationDigest(req.TypeName, req.Config); digest != "" {
		if _, ok := s.validated.Load(digest); ok {
			return &tfprotov6.ValidateResourceConfigResponse{}, nil
		}
	}
	return s.ProviderServer.ValidateResourceConfig(ctx, req)
}

// ApplyResourceChange records, once the framework applied a configuration,
// whether it is valid without a diagnostic, for the validations of the plans
// that follow.
func (s *server) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	resp, err := s.ProviderServer.ApplyResourceChange(ctx, req)
	digest := configurationDigest(req.TypeName, req.Config)
	if err != nil || resp == nil || s.build == "" || digest == "" || diagnosticsHaveError(resp.Diagnostics) {
		return resp, err
	}
	if _, known := s.validated.Load(digest); !known {
		validation, err := s.ProviderServer.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: req.TypeName, Config: req.Config})
		if err != nil || len(validation.Diagnostics) > 0 {
			return resp, nil
		}
	}
	entry, _ := json.Marshal(validatedConfig{Digest: digest, Build: s.build})
	if private, ok := withPrivateEntry(resp.Private, validatedConfigKey, entry); ok {
		resp.Private = private
		s.validated.Store(digest, struct{}{})
	}
	return resp, nil
}

// learnValidated takes the validation a resource's private state records.
func (s *server) learnValidated(entries map[string][]byte) {
	var v validatedConfig
	if s.build != "" && json.Unmarshal(entries[validatedConfigKey], &v) == nil && v.Build == s.build && v.Digest != "" {
		s.validated.Store(v.Digest, struct{}{})
	}
}

func diagnosticsHaveError(diags []*tfprotov6.Diagnostic) bool {
	for _, d := range diags {
		if d.Severity == tfprotov6.DiagnosticSeverityError {
			return true
		}
	}
	return false
}

// privateEntries reads the private state the framework hands terraform: a
// JSON object of base64 values (nil if it is not that).
func privateEntries(private []byte) map[string][]byte {
	var entries map[string][]byte
	if len(private) == 0 || json.Unmarshal(private, &entries) != nil {
		return nil
	}
	return entries
}

// withPrivateEntry is private with key set to value (JSON, as the framework
// requires of every entry).
func withPrivateEntry(private []byte, key string, value []byte) ([]byte, bool) {
	entries := privateEntries(private)
	if entries == nil {
		if len(private) > 0 {
			return nil, false // not the framework's encoding: leave it alone
		}
		entries = map[string][]byte{}
	}
	entries[key] = value
	data, err := json.Marshal(entries)
	return data, err == nil
}

// stateType is what a resource's stored state must be to need no upgrade.
type stateType struct {
	version int64
	typ     tftypes.Type
}

func (s *server) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	s.stateTypesOnce.Do(func() { s.stateTypes = s.loadStateTypes(ctx) })
	current, ok := s.stateTypes[req.TypeName]
	if ok && req.RawState != nil && len(req.RawState.JSON) > 0 && len(req.RawState.Flatmap) == 0 && req.Version == current.version {
		var stored any
		decoder := json.NewDecoder(bytes.NewReader(req.RawState.JSON))
		decoder.UseNumber()
		if decoder.Decode(&stored) == nil && !decoder.More() && fits(stored, current.typ) {
			return &tfprotov6.UpgradeResourceStateResponse{UpgradedState: &tfprotov6.DynamicValue{JSON: req.RawState.JSON}}, nil
		}
	}
	return s.ProviderServer.UpgradeResourceState(ctx, req)
}

// loadStateTypes reads the resources' schemas from the framework, once.
func (s *server) loadStateTypes(ctx context.Context) map[string]stateType {
	types := map[string]stateType{}
	resp, err := s.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil || resp == nil {
		return types // no shortcut
	}
	for name, schema := range resp.ResourceSchemas {
		types[name] = stateType{version: schema.Version, typ: schema.ValueType()}
	}
	return types
}

// fits says value, decoded from JSON, has the shape of typ: no attribute
// typ lacks, primitives of typ's kind. Anything else is the framework's to
// judge (and report).
func fits(value any, typ tftypes.Type) bool {
	if value == nil {
		return true
	}
	switch t := typ.(type) {
	case tftypes.Object:
		attributes, ok := value.(map[string]any)
		if !ok {
			return false
		}
		for name, v := range attributes {
			attribute, known := t.AttributeTypes[name]
			if !known || !fits(v, attribute) {
				return false
			}
		}
		return true
	case tftypes.List:
		return allFit(value, t.ElementType)
	case tftypes.Set:
		return allFit(value, t.ElementType)
	case tftypes.Map:
		entries, ok := value.(map[string]any)
		if !ok {
			return false
		}
		for _, v := range entries {
			if !fits(v, t.ElementType) {
				return false
			}
		}
		return true
	}
	switch {
	case typ.Is(tftypes.String):
		_, ok := value.(string)
		return ok
	case typ.Is(tftypes.Number):
		_, ok := value.(json.Number)
		return ok
	case typ.Is(tftypes.Bool):
		_, ok := value.(bool)
		return ok
	}
	return false // tuples, dynamic values: the framework's
}

func allFit(value any, element tftypes.Type) bool {
	elements, ok := value.([]any)
	if !ok {
		return false
	}
	for _, v := range elements {
		if !fits(v, element) {
			return false
		}
	}
	return true
}

func (s *server) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	entries := privateEntries(req.Private)
	s.learnValidated(entries)
	kind, shortcut := observedKinds[req.TypeName]
	if !shortcut || req.CurrentState == nil {
		return s.ProviderServer.ReadResource(ctx, req)
	}
	prior, ok := observedFrom(entries[observedKey])
	data := s.provider.configured.Load()
	if !ok || data == nil {
		return s.ProviderServer.ReadResource(ctx, req)
	}
	clients, err := data.Clients.Get()
	if err != nil {
		return s.ProviderServer.ReadResource(ctx, req)
	}
	live, err := kind.On(clients).Get(ctx, prior.Namespace, prior.Name)
	if err != nil {
		return s.ProviderServer.ReadResource(ctx, req) // the resource reports it
	}
	if live != nil && prior.sameVersion(live, data.Version) && claimStands(ctx, clients, prior) {
		return &tfprotov6.ReadResourceResponse{NewState: req.CurrentState, Private: req.Private}, nil
	}
	fetched := &fetchedObject{prior.Namespace, prior.Name, live}
	return s.ProviderServer.ReadResource(context.WithValue(ctx, fetchedObjectKey{}, fetched), req)
}

// observedKinds are the resource types whose state is computed from their
// Knative object (and a mapping's from its domain's claim too) and that
// record its observed version (observed.go).
var observedKinds = map[string]*serving.Kind{
	"knative_service": serving.Service, "knative_route": serving.Route, "knative_domain_mapping": serving.DomainMapping,
}

// claimStands says the namespace still holds the domain's ClusterDomainClaim
// where the recorded state says it does (one GET), or that it says nothing
// of a claim. A failed read is the resource's to report.
func claimStands(ctx context.Context, clients *kube.Clients, prior observed) bool {
	if !prior.holdsClaim() {
		return true
	}
	claimed, err := serving.Claims{Clients: clients}.Claimed(ctx, prior.Name, prior.Namespace)
	return err == nil && claimed
}

func (s *server) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	if _, shortcut := observedKinds[req.TypeName]; shortcut && unchanged(req.PriorState, req.ProposedNewState) {
		if prior, ok := observedFrom(privateEntries(req.PriorPrivate)[observedKey]); ok && prior.Ready && !prior.lostClaim() {
			return &tfprotov6.PlanResourceChangeResponse{PlannedState: req.PriorState, PlannedPrivate: req.PriorPrivate}, nil
		}
	}
	return s.ProviderServer.PlanResourceChange(ctx, req)
}

// unchanged says the proposed new state is the prior state, byte for byte
// (terraform encodes both the same way; any other encoding is no shortcut).
func unchanged(prior, proposed *tfprotov6.DynamicValue) bool {
	return prior != nil && proposed != nil && len(prior.MsgPack) > 0 && len(prior.JSON) == 0 && len(proposed.JSON) == 0 &&
		bytes.Equal(prior.MsgPack, proposed.MsgPack)
}

// fetchedObject carries an object the shortcut already read (live nil: not
// found) to the resource's Read, so that a refresh stays one GET.
type fetchedObject struct {
	namespace, name string
	live            *unstructured.Unstructured
}

type fetchedObjectKey struct{}

// fetchedFrom is the object namespace/name the shortcut read, if it did.
func fetchedFrom(ctx context.Context, namespace, name string) (*unstructured.Unstructured, bool) {
	f, ok := ctx.Value(fetchedObjectKey{}).(*fetchedObject)
	if !ok || f.namespace != namespace || f.name != name {
		return nil, false
	}
	return f.live, true
}

// QuietLogsUnlessAsked turns the plugin libraries' logs off when nothing asks
// for them (no TF_LOG, TF_LOG_PROVIDER or TF_LOG_SDK* in the environment the
// CLI passes on): terraform and tofu then drop them, yet the libraries would
// still format every trace line as JSON, a quarter of the provider's CPU in
// a plan (BenchmarkTerraformPlan). Call it before serving.
func QuietLogsUnlessAsked() {
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "TF_LOG") && name != "TF_LOG_PATH" {
			return
		}
	}
	_ = os.Setenv("TF_LOG_SDK", "OFF")
	// The subsystems' own levels: unset, terraform-plugin-log takes every
	// trace line of the protocol and the framework as wanted and masks its
	// fields before the root logger drops it (a tenth of the provider's CPU in
	// a plan).
	_ = os.Setenv("TF_LOG_SDK_PROTO", "OFF")
	_ = os.Setenv("TF_LOG_SDK_FRAMEWORK", "OFF")
	_ = os.Setenv("TF_LOG_PROVIDER", "OFF")
	_ = os.Setenv("TF_LOG_PROVIDER_KNATIVE", "OFF") // the provider's own logger, named after its address
}
