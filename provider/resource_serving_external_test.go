package provider_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tf-knative/terraform-provider-knative/internal/kube/kubetest"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/provider"
)

// objectValue is a value of typ with the attributes set, the others null.
func objectValue(typ tftypes.Object, set map[string]tftypes.Value) tftypes.Value {
	attributes := map[string]tftypes.Value{}
	for name, t := range typ.AttributeTypes {
		if v, ok := set[name]; ok {
			attributes[name] = v
		} else {
			attributes[name] = tftypes.NewValue(t, nil)
		}
	}
	return tftypes.NewValue(typ, attributes)
}

func attributesOf(t *testing.T, dv *tfprotov6.DynamicValue, typ tftypes.Type) map[string]tftypes.Value {
	t.Helper()
	value, err := dv.Unmarshal(typ)
	var attributes map[string]tftypes.Value
	if err == nil {
		err = value.As(&attributes)
	}
	if err != nil {
		t.Fatal(err)
	}
	return attributes
}

// describe shows diagnostics in a failure.
func describe(diags []*tfprotov6.Diagnostic) string {
	var b strings.Builder
	for _, d := range diags {
		fmt.Fprintf(&b, "\n%s at %v: %s: %s", d.Severity, d.Attribute, d.Summary, d.Detail)
	}
	return b.String()
}

// diagnostic is the first diagnostic of the summary, or nil.
func diagnostic(diags []*tfprotov6.Diagnostic, summary string) *tfprotov6.Diagnostic {
	for _, d := range diags {
		if d.Summary == summary {
			return d
		}
	}
	return nil
}

// knative_serving with ingress = "external" through the provider's protocol
// server, as terraform calls it, on a fake cluster whose control plane rolls
// Deployments out: a class without the convention's suffix is warned about;
// a missing proxy Service is warned about at plan, at external_ingress.services,
// and refused at apply with nothing written; once it exists, the apply sets
// config-network's ingress-class to the class, installs no layer, and
// refresh sees no drift; a plan of another class is a switch; an import
// adopts the layer by its class.
func TestServing_externalIngressOnAFakeCluster(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster := kubetest.New()
	cluster.RunControlPlane(ctx)
	server := provider.ProtocolServerWithPlanChecksFor(cluster.Clients)
	providerConfig, err := provider.EmptyProviderConfig()
	if err != nil {
		t.Fatal(err)
	}
	configured, err := server.ConfigureProvider(ctx, &tfprotov6.ConfigureProviderRequest{Config: providerConfig})
	answered(t, err, func() []*tfprotov6.Diagnostic { return configured.Diagnostics })
	schemas, err := server.GetProviderSchema(ctx, &tfprotov6.GetProviderSchemaRequest{})
	if err != nil {
		t.Fatal(err)
	}
	typ := schemas.ResourceSchemas["knative_serving"].ValueType().(tftypes.Object)
	externalType := typ.AttributeTypes["external_ingress"].(tftypes.Object)
	config := func(class string) tftypes.Value {
		return objectValue(typ, map[string]tftypes.Value{
			"ingress": tftypes.NewValue(tftypes.String, serving.External),
			"external_ingress": objectValue(externalType, map[string]tftypes.Value{
				"class":    tftypes.NewValue(tftypes.String, class),
				"services": tftypes.NewValue(tftypes.List{ElementType: tftypes.String}, []tftypes.Value{tftypes.NewValue(tftypes.String, "traefik/traefik")}),
			}),
		})
	}
	const class = "traefik.ingress.networking.knative.dev"
	servicesPath := tftypes.NewAttributePath().WithAttributeName("external_ingress").WithAttributeName("services")

	// Kong's class is no DNS subdomain ending in the convention's suffix: a warning.
	validated, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "knative_serving", Config: encoded(t, config("kong"))})
	answered(t, err, func() []*tfprotov6.Diagnostic { return validated.Diagnostics })
	if d := diagnostic(validated.Diagnostics, "Unconventional ingress class"); d == nil || d.Severity != tfprotov6.DiagnosticSeverityWarning ||
		!strings.Contains(d.Detail, `Attribute external_ingress.class: ingress class "kong" does not end in ".ingress.networking.knative.dev"`) {
		t.Errorf("validation of class kong: %s", describe(validated.Diagnostics))
	}

	prior := encoded(t, tftypes.NewValue(typ, nil))
	plan := func() *tfprotov6.PlanResourceChangeResponse {
		t.Helper()
		cfg := encoded(t, config(class))
		resp, err := server.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
			TypeName: "knative_serving", PriorState: prior, ProposedNewState: cfg, Config: cfg,
		})
		answered(t, err, func() []*tfprotov6.Diagnostic { return resp.Diagnostics })
		if got := attributesOf(t, resp.PlannedState, typ)["ingress_class"]; !got.Equal(tftypes.NewValue(tftypes.String, class)) {
			t.Errorf("planned ingress_class %v, want %q", got, class)
		}
		return resp
	}
	apply := func(planned *tfprotov6.PlanResourceChangeResponse) *tfprotov6.ApplyResourceChangeResponse {
		t.Helper()
		resp, err := server.ApplyResourceChange(ctx, &tfprotov6.ApplyResourceChangeRequest{
			TypeName: "knative_serving", PriorState: prior, PlannedState: planned.PlannedState, Config: encoded(t, config(class)),
			PlannedPrivate: planned.PlannedPrivate,
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	// The proxy Service missing: a warning at plan, a refusal at apply.
	planned := plan()
	if d := diagnostic(planned.Diagnostics, "Networking layer prerequisites missing"); d == nil || d.Severity != tfprotov6.DiagnosticSeverityWarning ||
		!d.Attribute.Equal(servicesPath) || !strings.Contains(d.Detail, "the cluster lacks:\n  - Service traefik/traefik (a proxy Service of the layer)") {
		t.Fatalf("plan without the Service: %s", describe(planned.Diagnostics))
	}
	refused := apply(planned)
	if d := diagnostic(refused.Diagnostics, "Networking layer prerequisites missing"); d == nil || d.Severity != tfprotov6.DiagnosticSeverityError ||
		!d.Attribute.Equal(servicesPath) || !strings.Contains(d.Detail, "Nothing was changed.") {
		t.Fatalf("apply without the Service: %s", describe(refused.Diagnostics))
	}
	if cluster.Writes() != 0 {
		t.Fatalf("%d writes before the refusal", cluster.Writes())
	}

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "traefik", Name: "traefik"}}
	if _, err := cluster.Kubernetes.CoreV1().Services("traefik").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	planned = plan()
	if d := diagnostic(planned.Diagnostics, "Networking layer prerequisites missing"); d != nil {
		t.Errorf("plan with the Service: %s", d.Detail)
	}
	created := apply(planned)
	answered(t, nil, func() []*tfprotov6.Diagnostic { return created.Diagnostics })
	state := attributesOf(t, created.NewState, typ)
	if !state["ingress_class"].Equal(tftypes.NewValue(tftypes.String, class)) || !state["ready"].Equal(tftypes.NewValue(tftypes.Bool, true)) {
		t.Errorf("state after the apply: ingress_class %v, ready %v", state["ingress_class"], state["ready"])
	}
	network, err := cluster.Kubernetes.CoreV1().ConfigMaps(serving.Namespace).Get(ctx, "config-network", metav1.GetOptions{})
	if err != nil || network.Data["ingress-class"] != class {
		t.Fatalf("config-network: %v, %v", network, err)
	}
	if cluster.Get(serving.DeploymentsGVR, serving.Namespace, "controller") == nil {
		t.Error("Knative Serving's controller was not installed")
	}
	for _, l := range serving.Layers {
		if cluster.Get(serving.DeploymentsGVR, serving.Namespace, l.Controller) != nil {
			t.Errorf("the layer controller %s was installed", l.Controller)
		}
	}

	read, err := server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: "knative_serving", CurrentState: created.NewState, Private: created.Private})
	answered(t, err, func() []*tfprotov6.Diagnostic { return read.Diagnostics })
	refreshed := attributesOf(t, read.NewState, typ)
	var drift []tftypes.Value
	if err := refreshed["drift"].As(&drift); err != nil || len(drift) > 0 || !refreshed["ingress_class"].Equal(tftypes.NewValue(tftypes.String, class)) {
		t.Errorf("refresh: drift %v (%v), ingress_class %v", drift, err, refreshed["ingress_class"])
	}

	// Plans of an update, proposed as terraform does (the configuration over
	// the prior state): the same class changes nothing; another class is a
	// switch of layers, whose readiness the apply tells.
	update := func(class string) map[string]tftypes.Value {
		t.Helper()
		attributes := attributesOf(t, read.NewState, typ)
		attributes["external_ingress"] = attributesOf(t, encoded(t, config(class)), typ)["external_ingress"]
		proposed := encoded(t, tftypes.NewValue(typ, attributes))
		resp, err := server.PlanResourceChange(ctx, &tfprotov6.PlanResourceChangeRequest{
			TypeName: "knative_serving", PriorState: read.NewState, PriorPrivate: read.Private, ProposedNewState: proposed, Config: encoded(t, config(class)),
		})
		answered(t, err, func() []*tfprotov6.Diagnostic { return resp.Diagnostics })
		return attributesOf(t, resp.PlannedState, typ)
	}
	if same := update(class); !same["ready"].Equal(tftypes.NewValue(tftypes.Bool, true)) || !same["ingress_class"].Equal(tftypes.NewValue(tftypes.String, class)) {
		t.Errorf("plan of the same class: ready %v, ingress_class %v", same["ready"], same["ingress_class"])
	}
	if kong := update("kong"); kong["ready"].IsKnown() || !kong["ingress_class"].Equal(tftypes.NewValue(tftypes.String, "kong")) {
		t.Errorf("plan of another class: ready %v, ingress_class %v", kong["ready"], kong["ingress_class"])
	}

	// An import adopts the external layer by the class config-network names
	// (its Services are not on the cluster to find).
	imported, err := server.ImportResourceState(ctx, &tfprotov6.ImportResourceStateRequest{TypeName: "knative_serving", ID: serving.Namespace})
	answered(t, err, func() []*tfprotov6.Diagnostic { return imported.Diagnostics })
	adopted, err := server.ReadResource(ctx, &tfprotov6.ReadResourceRequest{TypeName: "knative_serving",
		CurrentState: imported.ImportedResources[0].State, Private: imported.ImportedResources[0].Private})
	answered(t, err, func() []*tfprotov6.Diagnostic { return adopted.Diagnostics })
	got := attributesOf(t, adopted.NewState, typ)
	wantExternal := objectValue(externalType, map[string]tftypes.Value{"class": tftypes.NewValue(tftypes.String, class)})
	if !got["ingress"].Equal(tftypes.NewValue(tftypes.String, serving.External)) || !got["external_ingress"].Equal(wantExternal) {
		t.Errorf("imported: ingress %v, external_ingress %v", got["ingress"], got["external_ingress"])
	}
	if err := got["drift"].As(&drift); err != nil || len(drift) > 0 {
		t.Errorf("imported: drift %v (%v)", drift, err)
	}
}
