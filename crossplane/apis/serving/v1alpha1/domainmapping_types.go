package v1alpha1

import (
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	servingv1beta1 "knative.dev/serving/pkg/apis/serving/v1beta1"
)

// DomainMappingParameters are a Knative DomainMapping as you would write it.
// Its name (the external name) is the domain.
type DomainMappingParameters struct {
	ObjectMeta `json:",inline"`
	// Spec is the DomainMapping's spec: what the domain serves, and TLS.
	// +optional
	Spec *DomainMappingTarget `json:"spec,omitempty"`

	// ClaimDomain creates the ClusterDomainClaim that gives the namespace the
	// domain when there is none, and deletes it with the mapping; a claim held
	// by another namespace is an error. Set false when claims are managed
	// elsewhere or config-network's autocreate-cluster-domain-claims is true.
	// +optional
	// +kubebuilder:default=true
	ClaimDomain *bool `json:"claimDomain,omitempty"`

	// ServiceRef names a Service managed resource whose Knative Service the
	// domain serves; it sets spec.ref.
	// +optional
	ServiceRef *xpv2.NamespacedReference `json:"serviceRef,omitempty"`
	// ServiceSelector selects the Service managed resource for ServiceRef by labels.
	// +optional
	ServiceSelector *xpv2.NamespacedSelector `json:"serviceSelector,omitempty"`
}

// DomainMappingTarget is a DomainMapping's spec in Knative's shape, with ref
// optional so that serviceRef can set it.
type DomainMappingTarget struct {
	// Ref is what the domain serves, in the mapping's namespace, such as
	// {kind: Service, name: hello, apiVersion: serving.knative.dev/v1}.
	// serviceRef or serviceSelector set it.
	// +optional
	Ref *duckv1.KReference `json:"ref,omitempty"`
	// TLS serves HTTPS with the certificate of a kubernetes.io/tls Secret in
	// the mapping's namespace.
	// +optional
	TLS *servingv1beta1.SecretTLS `json:"tls,omitempty"`
}

// DomainMappingSpec is the desired state of a DomainMapping.
type DomainMappingSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              DomainMappingParameters `json:"forProvider"`
}

// DomainMappingStatus is the observed state of a DomainMapping: Knative's own
// status of it.
type DomainMappingStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 servingv1beta1.DomainMappingStatus `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="URL",type="string",JSONPath=".status.atProvider.url"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,knative}

// A DomainMapping serves a Knative Service (or another addressable object)
// on a domain of its own, with the ClusterDomainClaim it needs.
type DomainMapping struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   DomainMappingSpec   `json:"spec"`
	Status DomainMappingStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// DomainMappingList is a list of DomainMappings.
type DomainMappingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DomainMapping `json:"items"`
}
