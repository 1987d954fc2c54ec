package v1alpha1

import (
	"context"
	"strings"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reference"
	"github.com/crossplane/crossplane-runtime/v2/pkg/resource"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ExternalName splits a managed resource's crossplane.io/external-name, which
// is written name or namespace/name; namespace is "" when it is not written.
func ExternalName(mg resource.Managed) (namespace, name string) {
	name = meta.GetExternalName(mg)
	if ns, n, ok := strings.Cut(name, "/"); ok {
		return ns, n
	}
	return "", name
}

// KnativeName is the name of the Knative object a managed resource manages:
// its external name without a namespace/ prefix.
func KnativeName(mg resource.Managed) string {
	_, name := ExternalName(mg)
	return name
}

// ResolveReferences points spec.ref at the Knative Service of the Service managed
// resource serviceRef (or serviceSelector) names.
func (mg *DomainMapping) ResolveReferences(ctx context.Context, c client.Reader) error {
	p := &mg.Spec.ForProvider
	if p.ServiceRef == nil && p.ServiceSelector == nil {
		return nil
	}
	name, ref, err := resolveService(ctx, c, mg, p.ServiceRef, p.ServiceSelector)
	if err != nil {
		return err
	}
	p.ServiceRef = ref
	if p.Spec == nil {
		p.Spec = &DomainMappingTarget{}
	}
	p.Spec.Ref = &duckv1.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: name}
	return nil
}

// ResolveReferences points the spec.traffic targets that name neither a revision
// nor a configuration at the Configuration of the Service managed resource
// configurationRef (or configurationSelector) names.
func (mg *Route) ResolveReferences(ctx context.Context, c client.Reader) error {
	p := &mg.Spec.ForProvider
	if p.ConfigurationRef == nil && p.ConfigurationSelector == nil {
		return nil
	}
	name, ref, err := resolveService(ctx, c, mg, p.ConfigurationRef, p.ConfigurationSelector)
	if err != nil {
		return err
	}
	p.ConfigurationRef = ref
	if p.Spec == nil {
		return nil
	}
	for i := range p.Spec.Traffic {
		if t := &p.Spec.Traffic[i]; t.RevisionName == "" && t.ConfigurationName == "" {
			t.ConfigurationName = name
		}
	}
	return nil
}

// resolveService resolves a reference to (or a selector of) a Service managed
// resource in mg's namespace into its Knative Service's name.
func resolveService(ctx context.Context, c client.Reader, mg resource.Managed, ref *xpv2.NamespacedReference, selector *xpv2.NamespacedSelector) (string, *xpv2.NamespacedReference, error) {
	rsp, err := reference.NewAPINamespacedResolver(c, mg).Resolve(ctx, reference.NamespacedResolutionRequest{
		CurrentValue: "",
		Reference:    ref,
		Selector:     selector,
		To:           reference.To{Managed: &Service{}, List: &ServiceList{}},
		Extract:      KnativeName,
		Namespace:    mg.GetNamespace(),
	})
	if err != nil {
		return "", nil, errors.Wrap(err, "cannot resolve the reference to a Service managed resource")
	}
	return rsp.ResolvedValue, rsp.ResolvedReference, nil
}
