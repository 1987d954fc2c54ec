// Package v1alpha1 holds the managed resources of Knative Serving: Service,
// Route, DomainMapping and ServingConfig (namespaced, Crossplane v2 style) and
// ServingRuntime (cluster-scoped: the runtime installation).
// +kubebuilder:object:generate=true
// +groupName=serving.knative.m.crossplane.io
// +versionName=v1alpha1
package v1alpha1

import (
	"reflect"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

// Package type metadata.
const (
	Group   = "serving.knative.m.crossplane.io"
	Version = "v1alpha1"
)

var (
	// SchemeGroupVersion is the group version of these types.
	SchemeGroupVersion = schema.GroupVersion{Group: Group, Version: Version}
	// SchemeBuilder adds these types to a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: SchemeGroupVersion}
)

// Kind metadata of the managed resources.
var (
	ServiceGroupVersionKind        = SchemeGroupVersion.WithKind(reflect.TypeFor[Service]().Name())
	RouteGroupVersionKind          = SchemeGroupVersion.WithKind(reflect.TypeFor[Route]().Name())
	DomainMappingGroupVersionKind  = SchemeGroupVersion.WithKind(reflect.TypeFor[DomainMapping]().Name())
	ServingConfigGroupVersionKind  = SchemeGroupVersion.WithKind(reflect.TypeFor[ServingConfig]().Name())
	ServingRuntimeGroupVersionKind = SchemeGroupVersion.WithKind(reflect.TypeFor[ServingRuntime]().Name())
)

func init() {
	SchemeBuilder.Register(&Service{}, &ServiceList{}, &Route{}, &RouteList{}, &DomainMapping{}, &DomainMappingList{},
		&ServingConfig{}, &ServingConfigList{}, &ServingRuntime{}, &ServingRuntimeList{})
}
