package v1alpha1

import (
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServingConfigParameters are keys of one knative-serving config map.
type ServingConfigParameters struct {
	// Name of the config map without its config- prefix.
	// +kubebuilder:validation:Enum=autoscaler;certmanager;defaults;deployment;domain;features;gc;leader-election;logging;network;observability;tracing
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="name is immutable"
	Name string `json:"name"`
	// Data are the keys to set, validated with Knative's own parser of the
	// map. Only these keys are managed: keys others set are left alone, and a
	// key another writer owns is a conflict, not an overwrite. _example is
	// never written.
	// +optional
	Data map[string]string `json:"data,omitempty"`
}

// ServingConfigObservation is what the config map holds of the managed keys.
type ServingConfigObservation struct {
	// Data are the live values of the keys forProvider.data sets.
	// +optional
	Data map[string]string `json:"data,omitempty"`
}

// ServingConfigSpec is the desired state of a ServingConfig.
type ServingConfigSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              ServingConfigParameters `json:"forProvider"`
}

// ServingConfigStatus is the observed state of a ServingConfig.
type ServingConfigStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 ServingConfigObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="CONFIG",type="string",JSONPath=".spec.forProvider.name"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Namespaced,categories={crossplane,managed,knative}

// A ServingConfig owns some keys of one knative-serving config map
// (config-autoscaler, config-domain, config-features, ...). One per config
// map: each owns its keys with a field manager of its own.
type ServingConfig struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ServingConfigSpec   `json:"spec"`
	Status ServingConfigStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ServingConfigList is a list of ServingConfigs.
type ServingConfigList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServingConfig `json:"items"`
}
