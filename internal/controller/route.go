package controller

import (
	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// routeKind is the Route managed resource: forProvider is a Route's spec.
var routeKind = objectKind[*servingv1alpha1.Route]{
	kind:   serving.Route,
	meta:   func(mg *servingv1alpha1.Route) *servingv1alpha1.ObjectMeta { return &mg.Spec.ForProvider.ObjectMeta },
	spec:   func(mg *servingv1alpha1.Route) any { return &mg.Spec.ForProvider.Spec },
	status: func(mg *servingv1alpha1.Route) any { return &mg.Status.AtProvider },
}
