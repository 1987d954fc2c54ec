package serving

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	servingv1beta1 "knative.dev/serving/pkg/apis/serving/v1beta1"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// managedByLabel marks the ClusterDomainClaims this provider created, so that
// removing a mapping deletes only those, never a claim someone else made.
const managedByLabel = "app.kubernetes.io/managed-by"

// DomainMapping is Knative's DomainMapping, managed through the engine's
// lifecycle; Claims hold the domains it serves.
var DomainMapping = &Kind{
	GVR: DomainMappingsGVR, Kind: "DomainMapping", Name: "Knative DomainMapping",
	validate: ValidateDomainMapping,
}

// ValidateDomainMapping runs Knative's own defaulting and validation (the
// webhook's rules) on a DomainMapping.
func ValidateDomainMapping(ctx context.Context, obj map[string]any) error {
	return validateTyped(ctx, obj, &servingv1beta1.DomainMapping{}, nil) // the domain: Knative checks it
}

// Claims creates, reads and releases the ClusterDomainClaims that let
// DomainMappings serve their domain.
type Claims struct {
	Clients *kube.Clients
}

func (d Claims) claims() dynamicResource {
	return d.Clients.Dynamic.Resource(ClusterDomainClaimsGVR)
}

// Claim makes sure namespace holds the ClusterDomainClaim of domain, creating
// it (labelled as this provider's) when there is none. A claim held by
// another namespace is an error: Knative would refuse to serve the domain.
func (d Claims) Claim(ctx context.Context, domain, namespace string) error {
	claim := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": ClusterDomainClaimsGVR.GroupVersion().String(),
		"kind":       "ClusterDomainClaim",
		"metadata":   map[string]any{"name": domain, "labels": map[string]any{managedByLabel: d.Clients.FieldManager}},
		"spec":       map[string]any{"namespace": namespace},
	}}
	_, err := d.claims().Create(ctx, claim, metav1.CreateOptions{FieldManager: d.Clients.FieldManager})
	if err == nil || !apierrors.IsAlreadyExists(err) {
		return err
	}
	existing, err := d.claims().Get(ctx, domain, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if holder, _, _ := unstructured.NestedString(existing.Object, "spec", "namespace"); holder != namespace {
		return fmt.Errorf("the domain %s is claimed by namespace %q (ClusterDomainClaim %s), so Knative will not serve it from namespace %q. "+
			"Map it from that namespace, or delete the claim if it is stale", domain, holder, domain, namespace)
	}
	return nil
}

// Claimed reports whether namespace holds the ClusterDomainClaim of domain.
func (d Claims) Claimed(ctx context.Context, domain, namespace string) (bool, error) {
	claim, err := d.claims().Get(ctx, domain, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	holder, _, _ := unstructured.NestedString(claim.Object, "spec", "namespace")
	return holder == namespace, nil
}

// Unclaim deletes the ClusterDomainClaim of domain if this provider created
// it for namespace; a claim anyone else made stays.
func (d Claims) Unclaim(ctx context.Context, domain, namespace string) error {
	existing, err := d.claims().Get(ctx, domain, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	holder, _, _ := unstructured.NestedString(existing.Object, "spec", "namespace")
	if holder != namespace || existing.GetLabels()[managedByLabel] != d.Clients.FieldManager {
		return nil
	}
	uid := existing.GetUID()
	err = d.claims().Delete(ctx, domain, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil // gone already, or replaced by someone else's claim
	}
	return err
}
