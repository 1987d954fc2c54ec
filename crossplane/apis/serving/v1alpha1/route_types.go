package v1alpha1

import (
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// RouteParameters are a Knative Route as you would write it: its namespace,
// labels and annotations, and the spec of a Route (its traffic split) as it is.
type RouteParameters struct {
	ObjectMeta `json:",inline"`
	// Spec is the Route's spec. Empty only when observing an existing Route.
	// +optional
	Spec *servingv1.RouteSpec `json:"spec,omitempty"`

	// ConfigurationRef names a Service managed resource: spec.traffic targets
	// that name neither a revision nor a configuration go to that Service's
	// Configuration (which has the Knative Service's name).
	// +optional
	ConfigurationRef *xpv2.NamespacedReference `json:"configurationRef,omitempty"`
	// ConfigurationSelector selects the Service managed resource for
	// ConfigurationRef by labels.
	// +optional
	ConfigurationSelector *xpv2.NamespacedSelector `json:"configurationSelector,omitempty"`
}

// RouteSpec is the desired state of a Route.
type RouteSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              RouteParameters `json:"forProvider"`
}

// RouteStatus is the observed state of a Route: Knative's own status of it.
type RouteStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 servingv1.RouteStatus `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="URL",type="string",JSONPath=".status.atProvider.url"
// +kubebuilder:printcolumn:name="EXTERNAL-NAME",type="string",JSONPath=".metadata.annotations.crossplane\\.io/external-name",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,knative}

// A Route is a Knative Route of its own: a URL that splits traffic between
// revisions or follows the latest revision of Configurations.
type Route struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   RouteSpec   `json:"spec"`
	Status RouteStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// RouteList is a list of Routes.
type RouteList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Route `json:"items"`
}
