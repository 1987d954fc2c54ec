package serving

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1alpha1 "knative.dev/networking/pkg/apis/networking/v1alpha1"
	autoscalingv1alpha1 "knative.dev/serving/pkg/apis/autoscaling/v1alpha1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	servingv1beta1 "knative.dev/serving/pkg/apis/serving/v1beta1"
)

// The Knative APIs the engine reads and writes, from Knative's own group
// versions; defined once here.
var (
	// ServicesGVR is Knative's Service API.
	ServicesGVR = servingv1.SchemeGroupVersion.WithResource("services")
	// RoutesGVR is Knative's Route API.
	RoutesGVR = servingv1.SchemeGroupVersion.WithResource("routes")
	// RevisionsGVR is Knative's Revision API.
	RevisionsGVR = servingv1.SchemeGroupVersion.WithResource("revisions")
	// DomainMappingsGVR is Knative's DomainMapping API.
	DomainMappingsGVR = servingv1beta1.SchemeGroupVersion.WithResource("domainmappings")
	// ClusterDomainClaimsGVR is the cluster-wide claim of a domain by one
	// namespace, which a DomainMapping needs before Knative serves it.
	ClusterDomainClaimsGVR = networkingv1alpha1.SchemeGroupVersion.WithResource("clusterdomainclaims")

	configurationsGVR     = servingv1.SchemeGroupVersion.WithResource("configurations")
	ingressesGVR          = networkingv1alpha1.SchemeGroupVersion.WithResource("ingresses") // KIngresses: Routes program the networking layer through them
	serverlessServicesGVR = networkingv1alpha1.SchemeGroupVersion.WithResource("serverlessservices")
	podAutoscalersGVR     = autoscalingv1alpha1.SchemeGroupVersion.WithResource("podautoscalers")
	kubernetesServicesGVR = corev1.SchemeGroupVersion.WithResource("services")
)

// The runtime's Kubernetes objects the frontends watch.
var (
	// DeploymentsGVR are the runtime's Deployments.
	DeploymentsGVR = appsv1.SchemeGroupVersion.WithResource("deployments")
	// ConfigMapsGVR are its config maps.
	ConfigMapsGVR = corev1.SchemeGroupVersion.WithResource("configmaps")
)
