package controller

import (
	"context"
	"fmt"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// domainMappingKind is the DomainMapping managed resource: forProvider is a
// DomainMapping's spec; the domain's ClusterDomainClaim is made before the
// mapping is written and released once it is gone.
var domainMappingKind = objectKind[*servingv1alpha1.DomainMapping]{
	kind: serving.DomainMapping,
	meta: func(mg *servingv1alpha1.DomainMapping) *servingv1alpha1.ObjectMeta {
		return &mg.Spec.ForProvider.ObjectMeta
	},
	spec:   func(mg *servingv1alpha1.DomainMapping) any { return &mg.Spec.ForProvider.Spec },
	status: func(mg *servingv1alpha1.DomainMapping) any { return &mg.Status.AtProvider },
	beforeApply: func(ctx context.Context, clients *kube.Clients, mg *servingv1alpha1.DomainMapping, namespace, domain string) error {
		if !claimsDomain(mg) {
			return nil
		}
		return serving.Claims{Clients: clients}.Claim(ctx, domain, namespace)
	},
	afterDelete: func(ctx context.Context, clients *kube.Clients, mg *servingv1alpha1.DomainMapping, namespace, domain string) error {
		if !claimsDomain(mg) {
			return nil
		}
		return serving.Claims{Clients: clients}.Unclaim(ctx, domain, namespace)
	},
	// A claim deleted or taken out of band is drift: the update claims the
	// domain again (or says which namespace holds it). One more GET a poll.
	drift: func(ctx context.Context, clients *kube.Clients, mg *servingv1alpha1.DomainMapping, namespace, domain string) (string, error) {
		if !claimsDomain(mg) {
			return "", nil
		}
		claimed, err := serving.Claims{Clients: clients}.Claimed(ctx, domain, namespace)
		if err != nil || claimed {
			return "", err
		}
		return fmt.Sprintf("namespace %q does not hold the ClusterDomainClaim %s", namespace, domain), nil
	},
}

func claimsDomain(mg *servingv1alpha1.DomainMapping) bool {
	return mg.Spec.ForProvider.ClaimDomain == nil || *mg.Spec.ForProvider.ClaimDomain
}
