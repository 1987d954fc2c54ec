package serving

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

const (
	// Namespace is where Knative Serving's release manifests put the runtime.
	Namespace = "knative-serving"
	// apiCRD is the CRD whose presence means Knative Serving's API is installed.
	apiCRD       = "services.serving.knative.dev"
	versionLabel = "app.kubernetes.io/version"
)

// Installation is what is found of Knative Serving on a cluster.
type Installation struct {
	Installed bool
	Version   string
	// Ingress is the networking layer config-network names: one of Layers,
	// External when it names a class of none of them, "" when it names none.
	Ingress string
	// IngressClass is the class config-network names.
	IngressClass string
}

// Detect reads whether Knative Serving is installed, and its version, from the
// labels the release manifests put on the Service CRD, and its networking
// layer from config-network: two GETs.
func Detect(ctx context.Context, c *kube.Clients) (Installation, error) {
	crd, err := c.APIExtensions.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, apiCRD, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Installation{}, nil
	}
	if err != nil {
		return Installation{}, fmt.Errorf("reading CRD %s: %w", apiCRD, err)
	}
	class, err := (&Installer{Clients: c}).installedClass(ctx)
	return Installation{Installed: true, Version: crd.Labels[versionLabel], Ingress: ingressOf(class, Spec{}), IngressClass: class}, err
}
