// Package v1alpha1 holds the provider's configuration types: ProviderConfig
// (namespaced) and ClusterProviderConfig, and their usages.
// +kubebuilder:object:generate=true
// +groupName=knative.m.crossplane.io
// +versionName=v1alpha1
package v1alpha1

import (
	"reflect"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// Package type metadata.
const (
	Group   = "knative.m.crossplane.io"
	Version = "v1alpha1"
)

var (
	// SchemeGroupVersion is the group version of these types.
	SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: Version}
	// SchemeBuilder adds these types to a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: SchemeGroupVersion}
)

// Kinds of this group.
var (
	ProviderConfigKind                      = reflect.TypeFor[ProviderConfig]().Name()
	ProviderConfigGroupVersionKind          = SchemeGroupVersion.WithKind(ProviderConfigKind)
	ProviderConfigUsageGroupVersionKind     = SchemeGroupVersion.WithKind(reflect.TypeFor[ProviderConfigUsage]().Name())
	ProviderConfigUsageListGroupVersionKind = SchemeGroupVersion.WithKind(reflect.TypeFor[ProviderConfigUsageList]().Name())

	ClusterProviderConfigKind                      = reflect.TypeFor[ClusterProviderConfig]().Name()
	ClusterProviderConfigGroupVersionKind          = SchemeGroupVersion.WithKind(ClusterProviderConfigKind)
	ClusterProviderConfigUsageGroupVersionKind     = SchemeGroupVersion.WithKind(reflect.TypeFor[ClusterProviderConfigUsage]().Name())
	ClusterProviderConfigUsageListGroupVersionKind = SchemeGroupVersion.WithKind(reflect.TypeFor[ClusterProviderConfigUsageList]().Name())
)

func init() {
	SchemeBuilder.Register(&ProviderConfig{}, &ProviderConfigList{}, &ProviderConfigUsage{}, &ProviderConfigUsageList{},
		&ClusterProviderConfig{}, &ClusterProviderConfigList{}, &ClusterProviderConfigUsage{}, &ClusterProviderConfigUsageList{})
}
