package controller

import (
	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// serviceKind is the Service managed resource: forProvider is a ksvc's spec.
var serviceKind = objectKind[*servingv1alpha1.Service]{
	kind:   serving.Service,
	meta:   func(mg *servingv1alpha1.Service) *servingv1alpha1.ObjectMeta { return &mg.Spec.ForProvider.ObjectMeta },
	spec:   func(mg *servingv1alpha1.Service) any { return &mg.Spec.ForProvider.Spec },
	status: func(mg *servingv1alpha1.Service) any { return &mg.Status.AtProvider },
}
