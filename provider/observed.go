package provider

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	tfresource "github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// The observed version: what lets a refresh and a plan of an unchanged
// knative_service, knative_route or knative_domain_mapping cost close to
// nothing (see server.go).

// observedKey names the private state entry that records which version of
// the live object (uid and resourceVersion) the state was computed from, and
// by which provider build. Kubernetes gives an object a new resourceVersion on
// every write, so a refresh that GETs the same version has nothing to
// recompute and leaves the state as it is: decoding and re-encoding a large
// schema costs several times the GET itself.
const observedKey = "observed"

type observed struct {
	Namespace       string `json:"namespace"`
	Name            string `json:"name"`
	UID             string `json:"uid"`
	ResourceVersion string `json:"resourceVersion"`
	Provider        string `json:"provider"`
	// Ready is Knative's verdict on that version, as the state's ready
	// attribute records it: the plan of an unchanged object that is not
	// Ready is an update (see lifecycle.notReady), which the framework plans.
	Ready bool `json:"ready,omitempty"`
	// ClaimDomain is a knative_domain_mapping's claim_domain in that state
	// (nil for the other kinds): true, the state also says that the namespace
	// holds the domain's ClusterDomainClaim, which every refresh reads again;
	// false after a refresh found the claim gone, when terraform proposes the
	// prior false for a configuration that leaves it out and the framework's
	// default plans it back to true (claimsDomain, lostClaim).
	ClaimDomain *bool `json:"claimDomain,omitempty"`
}

// holdsClaim says the recorded state says the namespace holds the domain's
// claim; lostClaim, that it is a mapping's state that no longer does.
func (o observed) holdsClaim() bool { return o.ClaimDomain != nil && *o.ClaimDomain }
func (o observed) lostClaim() bool  { return o.ClaimDomain != nil && !*o.ClaimDomain }

// domainClaimer is a model whose state also reflects a ClusterDomainClaim.
type domainClaimer interface{ claimsDomain() bool }

// observedOf is live's version as built by provider; its verdict and the
// domain claim are left out: the verdict goes with the version (any write
// gives a new resourceVersion), so a refresh that finds the same version need
// not judge it again, and the claim is another object.
func observedOf(live *unstructured.Unstructured, provider string) observed {
	return observed{Namespace: live.GetNamespace(), Name: live.GetName(), UID: string(live.GetUID()), ResourceVersion: live.GetResourceVersion(), Provider: provider}
}

// sameVersion says live is the version o records, as built by provider.
func (o observed) sameVersion(live *unstructured.Unstructured, provider string) bool {
	o.Ready, o.ClaimDomain = false, nil
	return o == observedOf(live, provider)
}

// observedFrom reads a recorded observed version (the private state entry
// observedKey). Should its encoding ever change, nothing is recorded and the
// state is recomputed.
func observedFrom(data []byte) (observed, bool) {
	var o observed
	if json.Unmarshal(data, &o) != nil {
		return o, false
	}
	return o, o.Name != "" && o.ResourceVersion != ""
}

func observedFromPrivate(ctx context.Context, private interface {
	GetKey(context.Context, string) ([]byte, diag.Diagnostics)
}) (observed, bool) {
	data, _ := private.GetKey(ctx, observedKey)
	return observedFrom(data)
}

// privateState is the framework's private state of a resource.
type privateState interface {
	SetKey(context.Context, string, []byte) diag.Diagnostics
}

func (l lifecycle) version() string {
	if l.data == nil {
		return ""
	}
	return l.data.Version
}

// observed is the observed version to record with state m, or nil when a
// refresh of live would not reproduce m (live differs from what m sets, such
// as a value the webhook rewrote): then the next refresh recomputes and shows it.
func (l lifecycle) observed(ctx context.Context, m objectModel, live *unstructured.Unstructured) []byte {
	desired := m.toObject(ctx).Object
	want, err1 := json.Marshal(desired)
	got, err2 := json.Marshal(serving.Project(desired, live.Object))
	if err1 != nil || err2 != nil || !bytes.Equal(want, got) {
		return nil
	}
	o := observedOf(live, l.version())
	o.Ready = serving.Judge(live, live.GetGeneration()).State == serving.Ready
	if claimer, ok := m.(domainClaimer); ok {
		claims := claimer.claimsDomain()
		o.ClaimDomain = &claims
	}
	data, _ := json.Marshal(o)
	return data
}

// recordObserved records with state m the version of live it reflects (or
// that none does), when there is a private state to record it in.
func (l lifecycle) recordObserved(ctx context.Context, private privateState, m objectModel, live *unstructured.Unstructured, diags *diag.Diagnostics) {
	if private != nil && live != nil {
		diags.Append(private.SetKey(ctx, observedKey, l.observed(ctx, m, live))...)
	}
}

// read reads the object a state names, which the server's refresh may have
// read already (fetchedFrom): nil when the object is gone, and then the
// resource is removed from state.
func (l lifecycle) read(ctx context.Context, req tfresource.ReadRequest, resp *tfresource.ReadResponse) *unstructured.Unstructured {
	var namespace, name types.String
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("namespace"), &namespace)...)
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("name"), &name)...)
	if resp.Diagnostics.HasError() {
		return nil
	}
	live, fetched := fetchedFrom(ctx, namespace.ValueString(), name.ValueString())
	if fetched && live == nil {
		resp.State.RemoveResource(ctx)
	}
	if !fetched {
		live = l.get(ctx, namespace.ValueString(), name.ValueString(), &resp.State, &resp.Diagnostics)
	}
	return live
}

// readChanged is read, and nil too when the object is the very version the
// state was computed from (the state stands as it is): for the kinds whose
// state reflects their object alone.
func (l lifecycle) readChanged(ctx context.Context, req tfresource.ReadRequest, resp *tfresource.ReadResponse) *unstructured.Unstructured {
	live := l.read(ctx, req, resp)
	if live == nil {
		return nil
	}
	if prior, ok := observedFromPrivate(ctx, req.Private); ok && prior.sameVersion(live, l.version()) {
		return nil
	}
	return live
}
