package provider

import (
	"context"
	"encoding/json"
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// frameworkStandIn counts the plans and validations that reach the
// framework; its applies answer privateState, its validations diagnostics.
type frameworkStandIn struct {
	tfprotov6.ProviderServer
	plans, validations int
	privateState       []byte
	diagnostics        []*tfprotov6.Diagnostic
}

func (f *frameworkStandIn) ValidateResourceConfig(context.Context, *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	f.validations++
	return &tfprotov6.ValidateResourceConfigResponse{Diagnostics: f.diagnostics}, nil
}

func (f *frameworkStandIn) ApplyResourceChange(_ context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return &tfprotov6.ApplyResourceChangeResponse{NewState: req.PlannedState, Private: f.privateState}, nil
}

func (f *frameworkStandIn) ReadResource(_ context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return &tfprotov6.ReadResourceResponse{NewState: req.CurrentState, Private: req.Private}, nil
}

func (f *frameworkStandIn) PlanResourceChange(context.Context, *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	f.plans++
	return &tfprotov6.PlanResourceChangeResponse{}, nil
}

// The plan shortcut answers only an unchanged knative_service, knative_route or
// knative_domain_mapping whose recorded version Knative had Ready; everything
// else is the framework's.
func TestPlanShortcutTakesOnlyUnchangedReadyObjects(t *testing.T) {
	private := func(o observed) []byte {
		entry, _ := json.Marshal(o)
		data, _ := json.Marshal(map[string][]byte{observedKey: entry})
		return data
	}
	ready := private(observed{Namespace: "default", Name: "hello", UID: "7f1c", ResourceVersion: "4711", Ready: true})
	claims, lost := true, false
	claimed := private(observed{Namespace: "default", Name: "hello", UID: "7f1c", ResourceVersion: "4711", Ready: true, ClaimDomain: &claims})
	unclaimed := private(observed{Namespace: "default", Name: "hello", UID: "7f1c", ResourceVersion: "4711", Ready: true, ClaimDomain: &lost})
	notReady := private(observed{Namespace: "default", Name: "hello", UID: "7f1c", ResourceVersion: "4711"})
	state := &tfprotov6.DynamicValue{MsgPack: []byte{0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa5, 'h', 'e', 'l', 'l', 'o'}}
	changed := &tfprotov6.DynamicValue{MsgPack: []byte{0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa5, 'w', 'o', 'r', 'l', 'd'}}
	for _, tc := range []struct {
		name            string
		typeName        string
		prior, proposed *tfprotov6.DynamicValue
		private         []byte
		wantFramework   bool
	}{
		{name: "unchanged and Ready", typeName: "knative_service", prior: state, proposed: state, private: ready},
		{name: "changed", typeName: "knative_service", prior: state, proposed: changed, private: ready, wantFramework: true},
		{name: "not Ready", typeName: "knative_service", prior: state, proposed: state, private: notReady, wantFramework: true},
		{name: "no recorded version", typeName: "knative_service", prior: state, proposed: state, wantFramework: true},
		{name: "a create", typeName: "knative_service", proposed: state, private: ready, wantFramework: true},
		{name: "a route", typeName: "knative_route", prior: state, proposed: state, private: ready},
		{name: "a domain mapping", typeName: "knative_domain_mapping", prior: state, proposed: state, private: claimed},
		// A refresh found the claim gone: the default plans it back.
		{name: "a domain mapping without its claim", typeName: "knative_domain_mapping", prior: state, proposed: state, private: unclaimed, wantFramework: true},
		{name: "another resource", typeName: "knative_serving_config", prior: state, proposed: state, private: ready, wantFramework: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			framework := &frameworkStandIn{}
			s := newServer(&knativeProvider{}, framework)
			resp, err := s.PlanResourceChange(context.Background(), &tfprotov6.PlanResourceChangeRequest{
				TypeName: tc.typeName, PriorState: tc.prior, ProposedNewState: tc.proposed, PriorPrivate: tc.private,
			})
			if err != nil {
				t.Fatal(err)
			}
			if (framework.plans == 1) != tc.wantFramework {
				t.Fatalf("framework plans %d, want framework %v", framework.plans, tc.wantFramework)
			}
			if !tc.wantFramework && (resp.PlannedState != tc.prior || string(resp.PlannedPrivate) != string(tc.private)) {
				t.Errorf("the shortcut planned %v / %s, want the prior state and private state", resp.PlannedState, resp.PlannedPrivate)
			}
		})
	}
}

// A configuration is validated by the framework until an apply of it by the
// same build found it valid without a diagnostic; from then on, in any
// process that refreshed the resource, the same bytes need no validation.
// A different configuration, another build, a development build without a
// clean commit, or a configuration with a warning are validated every time.
func TestValidationOfAnAppliedConfigurationIsRemembered(t *testing.T) {
	ctx := context.Background()
	config := &tfprotov6.DynamicValue{MsgPack: []byte{0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa5, 'h', 'e', 'l', 'l', 'o'}}
	other := &tfprotov6.DynamicValue{MsgPack: []byte{0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa5, 'w', 'o', 'r', 'l', 'd'}}
	frameworkPrivate := []byte(`{"observed":"eyJuYW1lIjoiaGVsbG8ifQ=="}`) // {"name":"hello"}
	apply := func(t *testing.T, s tfprotov6.ProviderServer, config *tfprotov6.DynamicValue) []byte {
		t.Helper()
		resp, err := s.ApplyResourceChange(ctx, &tfprotov6.ApplyResourceChangeRequest{TypeName: "knative_service", PlannedState: config, Config: config})
		if err != nil || diagnosticsHaveError(resp.Diagnostics) {
			t.Fatal(err, resp.Diagnostics)
		}
		return resp.Private
	}
	validate := func(t *testing.T, s tfprotov6.ProviderServer, config *tfprotov6.DynamicValue) {
		t.Helper()
		if _, err := s.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "knative_service", Config: config}); err != nil {
			t.Fatal(err)
		}
	}
	refresh := func(t *testing.T, s tfprotov6.ProviderServer, private []byte) {
		t.Helper()
		if _, err := s.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: "knative_route", CurrentState: config, Private: private}); err != nil {
			t.Fatal(err)
		}
	}

	framework := &frameworkStandIn{privateState: frameworkPrivate}
	applied := apply(t, newServer(&knativeProvider{version: "1.2.0"}, framework), config)
	entries := privateEntries(applied)
	if string(entries[observedKey]) != `{"name":"hello"}` || framework.validations != 1 {
		t.Fatalf("the apply's private state %s (validations %d): the framework's entries must stay, one validation", applied, framework.validations)
	}

	// The next plan, in a new process: refreshed, then validated.
	framework = &frameworkStandIn{}
	s := newServer(&knativeProvider{version: "1.2.0"}, framework)
	validate(t, s, config)
	if framework.validations != 1 {
		t.Fatal("a configuration was taken as valid before its resource was refreshed")
	}
	refresh(t, s, applied)
	validate(t, s, config)
	if framework.validations != 1 {
		t.Fatal("the applied configuration was validated again")
	}
	validate(t, s, other)
	if framework.validations != 2 {
		t.Fatal("a changed configuration was not validated")
	}

	for name, tc := range map[string]struct {
		recordedBy, validatedBy string
		diagnostics             []*tfprotov6.Diagnostic
	}{
		"another build": {recordedBy: "1.2.0", validatedBy: "1.3.0"},
		"a warning":     {recordedBy: "1.2.0", validatedBy: "1.2.0", diagnostics: []*tfprotov6.Diagnostic{{Severity: tfprotov6.DiagnosticSeverityWarning, Summary: "deprecated"}}},
		"a dev build":   {recordedBy: "dev", validatedBy: "dev"}, // a test binary has no version control information
	} {
		t.Run(name, func(t *testing.T) {
			applied := apply(t, newServer(&knativeProvider{version: tc.recordedBy}, &frameworkStandIn{privateState: frameworkPrivate, diagnostics: tc.diagnostics}), config)
			framework := &frameworkStandIn{}
			s := newServer(&knativeProvider{version: tc.validatedBy}, framework)
			refresh(t, s, applied)
			validate(t, s, config)
			if framework.validations != 1 {
				t.Fatal("the configuration was not validated")
			}
		})
	}
}

func TestQuietLogsUnlessAsked(t *testing.T) {
	for _, tc := range []struct {
		env   map[string]string
		quiet bool
	}{
		{env: map[string]string{}, quiet: true},
		{env: map[string]string{"TF_LOG_PATH": "/tmp/tf.log"}, quiet: true},
		{env: map[string]string{"TF_LOG": "TRACE"}},
		{env: map[string]string{"TF_LOG_PROVIDER": "DEBUG"}},
		{env: map[string]string{"TF_LOG_SDK_FRAMEWORK": "TRACE"}},
	} {
		quietVariables := []string{"TF_LOG_SDK", "TF_LOG_SDK_PROTO", "TF_LOG_SDK_FRAMEWORK", "TF_LOG_PROVIDER_KNATIVE"}
		for _, name := range append([]string{"TF_LOG", "TF_LOG_PATH", "TF_LOG_PROVIDER"}, quietVariables...) {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		QuietLogsUnlessAsked()
		for _, name := range quietVariables {
			if got := os.Getenv(name) == "OFF"; got != tc.quiet {
				t.Errorf("with %v: %s quiet %v, want %v", tc.env, name, got, tc.quiet)
			}
		}
	}
}
