package v1alpha1

import (
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// ServiceParameters are a Knative Service as you would write it: its
// namespace, labels and annotations, and the spec of a ksvc (template,
// traffic) as it is.
type ServiceParameters struct {
	ObjectMeta `json:",inline"`
	// Spec is the Knative Service's spec. Empty only when observing an
	// existing Service (an import), which then fills it in.
	// +optional
	Spec *servingv1.ServiceSpec `json:"spec,omitempty"`
}

// ServiceSpec is the desired state of a Service.
type ServiceSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              ServiceParameters `json:"forProvider"`
}

// ServiceStatus is the observed state of a Service: Knative's own status of
// the Knative Service (url, address, latest created and ready revisions,
// traffic, observed generation and conditions).
type ServiceStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 servingv1.ServiceStatus `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="URL",type="string",JSONPath=".status.atProvider.url"
// +kubebuilder:printcolumn:name="REVISION",type="string",JSONPath=".status.atProvider.latestReadyRevisionName"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,knative}

// A Service is a Knative Service: a revision template and the traffic between
// its revisions. Ready follows Knative's Ready condition.
type Service struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ServiceSpec   `json:"spec"`
	Status ServiceStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ServiceList is a list of Services.
type ServiceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Service `json:"items"`
}
