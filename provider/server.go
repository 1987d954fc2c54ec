package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// NewServer is the provider's protocol 6 server: the plugin framework's, with
// two shortcuts for the unchanged knative_service, whose large schema the
// framework's generic decoding, checks and re-encoding make costly (about 3 ms
// of CPU per refresh, 25 per plan, against a GET's 0.3):
//
//   - A plan refreshes every knative_service, and when the live Service is
//     still the version its state was computed from (which the resource
//     records in private state), the answer is the prior state itself.
//   - A plan whose proposed new state is the prior state (the configuration
//     changes nothing) of a Service that was Ready is that state: the
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
	return &server{ProviderServer: framework, provider: p}
}

type server struct {
	tfprotov6.ProviderServer
	provider *knativeProvider
}

func (s *server) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	if req.TypeName != "knative_service" || req.CurrentState == nil {
		return s.ProviderServer.ReadResource(ctx, req)
	}
	prior, ok := observedIn(req.Private)
	data := s.provider.configured.Load()
	if !ok || data == nil {
		return s.ProviderServer.ReadResource(ctx, req)
	}
	clients, err := data.Clients.Get()
	if err != nil {
		return s.ProviderServer.ReadResource(ctx, req)
	}
	live, err := serving.Service.On(clients).Get(ctx, prior.Namespace, prior.Name)
	if err != nil {
		return s.ProviderServer.ReadResource(ctx, req) // the resource reports it
	}
	if live != nil && prior.sameVersion(live, data.Version) {
		return &tfprotov6.ReadResourceResponse{NewState: req.CurrentState, Private: req.Private}, nil
	}
	fetched := &fetchedService{prior.Namespace, prior.Name, live}
	return s.ProviderServer.ReadResource(context.WithValue(ctx, fetchedServiceKey{}, fetched), req)
}

func (s *server) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	if req.TypeName == "knative_service" && unchanged(req.PriorState, req.ProposedNewState) {
		if prior, ok := observedIn(req.PriorPrivate); ok && prior.Ready {
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

// observedIn finds the resource's observed version in the private state the
// framework hands terraform (a JSON object of base64 values). Should that
// encoding ever change, the shortcut is not taken and nothing else changes.
func observedIn(private []byte) (observed, bool) {
	var entries map[string][]byte
	var o observed
	if len(private) == 0 || json.Unmarshal(private, &entries) != nil || json.Unmarshal(entries[observedKey], &o) != nil {
		return o, false
	}
	return o, o.Name != "" && o.ResourceVersion != ""
}

// fetchedService carries a Service the shortcut already read (live nil: not
// found) to the resource's Read, so that a refresh stays one GET.
type fetchedService struct {
	namespace, name string
	live            *unstructured.Unstructured
}

type fetchedServiceKey struct{}

// fetchedFrom is the Service namespace/name the shortcut read, if it did.
func fetchedFrom(ctx context.Context, namespace, name string) (*unstructured.Unstructured, bool) {
	f, ok := ctx.Value(fetchedServiceKey{}).(*fetchedService)
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
	_ = os.Setenv("TF_LOG_PROVIDER", "OFF")
	_ = os.Setenv("TF_LOG_PROVIDER_KNATIVE", "OFF") // the provider's own logger, named after its address
}
