package v1alpha1

import (
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ServingRuntimeParameters are the Knative Serving runtime to install.
// +kubebuilder:validation:XValidation:rule="(has(self.ingress) && self.ingress == 'external') == has(self.externalIngress)",message="externalIngress is required when ingress is external, and only valid then"
type ServingRuntimeParameters struct {
	// Version of Knative Serving. Upgrades go one minor version at a time;
	// downgrades are refused.
	// +optional
	// +kubebuilder:default="1.23.0"
	// +kubebuilder:validation:Enum="1.20.3";"1.21.3";"1.22.1";"1.23.0"
	Version string `json:"version,omitempty"`
	// Ingress is the networking layer: kourier, istio, contour or gateway-api,
	// installed with it (Istio, Contour or a Gateway API implementation first),
	// or external, one you install (externalIngress). Changing it switches
	// layers in place.
	// +optional
	// +kubebuilder:default=kourier
	// +kubebuilder:validation:Enum=kourier;istio;contour;"gateway-api";external
	Ingress string `json:"ingress,omitempty"`
	// ExternalIngress is the networking layer you install (Traefik's Knative
	// provider, Kong, ...), when ingress is external: required then.
	// +optional
	ExternalIngress *ExternalIngress `json:"externalIngress,omitempty"`
	// HighAvailability runs several replicas of each control plane deployment.
	// +optional
	HighAvailability *HighAvailability `json:"highAvailability,omitempty"`
	// Registry rewrites the images for mirrored or air-gapped registries. An
	// image's name is its container's for Knative Serving's own, its
	// Deployment's for a networking layer's.
	// +optional
	Registry *Registry `json:"registry,omitempty"`
	// DeleteKnativeObjects lets deletion remove every Knative Service, Route
	// and DomainMapping first. Without it, deletion is refused while any exist.
	// +optional
	DeleteKnativeObjects bool `json:"deleteKnativeObjects,omitempty"`
}

// ExternalIngress is a networking layer the user installs.
type ExternalIngress struct {
	// Class is the ingress class the layer's controller serves, set in
	// config-network, such as traefik.ingress.networking.knative.dev.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Class string `json:"class"`
	// Services are the layer's proxy Services as namespace/name, such as
	// traefik/traefik: they must exist before Knative Serving uses the layer.
	// +optional
	// +listType=set
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z]([-a-z0-9]*[a-z0-9])?$`
	Services []string `json:"services,omitempty"`
}

// HighAvailability of the runtime's control plane.
type HighAvailability struct {
	// Replicas of each control plane deployment.
	// +kubebuilder:validation:Minimum=1
	Replicas int32 `json:"replicas"`
}

// Registry rewrites image references, as the Knative Operator's spec.registry
// does. Each image has a name: the container's for Knative Serving's own
// (controller, webhook, autoscaler, activator, queue-proxy), the
// Deployment's for a networking layer's (net-kourier-controller,
// 3scale-kourier-gateway, net-istio-controller, ...), whose containers reuse
// the names controller and webhook.
type Registry struct {
	// Default is an image template in which ${NAME} is the image's name: the
	// container's for Knative Serving's, the Deployment's for a layer's.
	// +optional
	Default string `json:"default,omitempty"`
	// Override maps an image's name (or deployment/container) to an image.
	// +optional
	Override map[string]string `json:"override,omitempty"`
}

// ServingRuntimeObservation is the installed runtime.
type ServingRuntimeObservation struct {
	// InstalledVersion is the version the cluster runs.
	// +optional
	InstalledVersion string `json:"installedVersion,omitempty"`
	// IngressClass is the class config-network names.
	// +optional
	IngressClass string `json:"ingressClass,omitempty"`
	// Components are the runtime's deployments and whether each is available.
	// +optional
	Components []Component `json:"components,omitempty"`
	// Drift lists what differs on the cluster from the release; the next
	// reconcile repairs it.
	// +optional
	Drift []string `json:"drift,omitempty"`
}

// Component is one deployment of the runtime.
type Component struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	Ready     bool   `json:"ready"`
	// +optional
	Message string `json:"message,omitempty"`
}

// ServingRuntimeSpec is the desired state of a ServingRuntime.
type ServingRuntimeSpec struct {
	xpv2.ManagedResourceSpec `json:",inline"`
	ForProvider              ServingRuntimeParameters `json:"forProvider,omitempty"`
}

// ServingRuntimeStatus is the observed state of a ServingRuntime.
type ServingRuntimeStatus struct {
	xpv2.ManagedResourceStatus `json:",inline"`
	AtProvider                 ServingRuntimeObservation `json:"atProvider,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="READY",type="string",JSONPath=".status.conditions[?(@.type=='Ready')].status"
// +kubebuilder:printcolumn:name="SYNCED",type="string",JSONPath=".status.conditions[?(@.type=='Synced')].status"
// +kubebuilder:printcolumn:name="VERSION",type="string",JSONPath=".status.atProvider.installedVersion"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
// +kubebuilder:resource:scope=Cluster,categories={crossplane,managed,knative}

// A ServingRuntime is Knative Serving installed on a cluster (CRDs, core
// controllers, Kourier), from release manifests embedded in the provider. It
// is cluster-scoped and uses a ClusterProviderConfig.
type ServingRuntime struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ServingRuntimeSpec   `json:"spec"`
	Status ServingRuntimeStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ServingRuntimeList is a list of ServingRuntimes.
type ServingRuntimeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServingRuntime `json:"items"`
}
