// Package apis holds the API types of the Crossplane provider for Knative
// Serving: its ProviderConfigs (knative.m.crossplane.io) and managed
// resources (serving.knative.m.crossplane.io).
package apis

import (
	"k8s.io/apimachinery/pkg/runtime"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	pcv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/v1alpha1"
)

// Generate the deep-copy methods and CRDs (controller-gen), relax in the CRDs
// what Knative does not require (hack/crds), then the managed resource
// methods (angryjet). make generate runs these; a test fails when the
// generated files are stale.
//go:generate rm -rf ../package/crds
//go:generate go tool controller-gen object:headerFile=../hack/boilerplate.go.txt paths=./... crd:crdVersions=v1,generateEmbeddedObjectMeta=true,maxDescLen=200 output:artifacts:config=../package/crds
//go:generate go run ../hack/crds ../package/crds
//go:generate go tool angryjet generate-methodsets --header-file=../hack/boilerplate.go.txt ./...

// AddToScheme adds every API type of the provider to a scheme.
func AddToScheme(s *runtime.Scheme) error {
	for _, add := range []func(*runtime.Scheme) error{pcv1alpha1.SchemeBuilder.AddToScheme, servingv1alpha1.SchemeBuilder.AddToScheme} {
		if err := add(s); err != nil {
			return err
		}
	}
	return nil
}
