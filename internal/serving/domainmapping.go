package serving

import (
	"context"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"knative.dev/pkg/apis"
	servingv1beta1 "knative.dev/serving/pkg/apis/serving/v1beta1"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

var (
	// DomainMappingsGVR is Knative's DomainMapping API.
	DomainMappingsGVR = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1beta1", Resource: "domainmappings"}
	// ClusterDomainClaimsGVR is the cluster-wide claim of a domain by one
	// namespace, which a DomainMapping needs before Knative serves it.
	ClusterDomainClaimsGVR = schema.GroupVersionResource{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "clusterdomainclaims"}
)

// managedByLabel marks the ClusterDomainClaims this provider created, so that
// removing a mapping deletes only those, never a claim someone else made.
const managedByLabel = "app.kubernetes.io/managed-by"

// ValidateDomainMapping runs Knative's own defaulting and validation (the
// webhook's rules) on a DomainMapping.
func ValidateDomainMapping(ctx context.Context, obj map[string]any) error {
	dm := &servingv1beta1.DomainMapping{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, dm); err != nil {
		return err
	}
	dm.SetDefaults(ctx)
	if fe := dm.Validate(ctx).Filter(apis.ErrorLevel); fe != nil {
		return errors.New(fe.Error())
	}
	return nil
}

// DomainMappings applies, reads, waits on and deletes Knative DomainMappings
// and the ClusterDomainClaims that let them serve their domain.
type DomainMappings struct {
	Clients *kube.Clients
}

func (d *DomainMappings) objects() readyObjects {
	return readyObjects{clients: d.Clients, gvr: DomainMappingsGVR, kind: "DomainMapping"}
}

// PrepareCreate refuses an existing DomainMapping (import it instead) and
// waits for one being deleted.
func (d *DomainMappings) PrepareCreate(ctx context.Context, namespace, name string) error {
	return d.objects().refuseExisting(ctx, namespace, name)
}

// Apply server-side applies the fields of obj (see readyObjects.apply).
func (d *DomainMappings) Apply(ctx context.Context, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	return d.objects().apply(ctx, obj)
}

// Get reads a DomainMapping; nil when it does not exist.
func (d *DomainMappings) Get(ctx context.Context, namespace, name string) (*unstructured.Unstructured, error) {
	return d.objects().get(ctx, namespace, name)
}

// WaitReady watches the DomainMapping until Knative has observed its
// generation and decided readiness (domain claimed, target resolved, ingress
// ready), failing with Knative's reason when it cannot serve the domain.
func (d *DomainMappings) WaitReady(ctx context.Context, namespace, name string, generation int64) (*unstructured.Unstructured, error) {
	return d.objects().waitReady(ctx, namespace, name, generation)
}

// Delete deletes the DomainMapping, waits until it is gone, and then deletes
// the domain's ClusterDomainClaim if this provider created it for namespace.
func (d *DomainMappings) Delete(ctx context.Context, namespace, name string) error {
	if err := d.objects().delete(ctx, namespace, name); err != nil {
		return err
	}
	return d.Unclaim(ctx, name, namespace)
}

func (d *DomainMappings) claims() dynamicResource {
	return d.Clients.Dynamic.Resource(ClusterDomainClaimsGVR)
}

// Claim makes sure namespace holds the ClusterDomainClaim of domain, creating
// it (labelled as this provider's) when there is none. A claim held by
// another namespace is an error: Knative would refuse to serve the domain.
func (d *DomainMappings) Claim(ctx context.Context, domain, namespace string) error {
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

// Unclaim deletes the ClusterDomainClaim of domain if this provider created
// it for namespace; a claim anyone else made stays.
func (d *DomainMappings) Unclaim(ctx context.Context, domain, namespace string) error {
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
