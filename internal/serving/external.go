package serving

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

// External is the ingress of a networking layer the user brings (Traefik's
// Knative provider, Ambassador, Kong, Gloo, ...): nothing of a layer is
// installed, config-network names the layer's class, and the layer's proxy
// Services are its prerequisites.
const External = "external"

// ClassSuffix ends the ingress classes of Knative's networking layers by
// convention (traefik.ingress.networking.knative.dev); some layers use
// another (Kong's is "kong").
const ClassSuffix = ".ingress.networking.knative.dev"

// ExternalIngress is the networking layer the user brings.
type ExternalIngress struct {
	// Class is config-network's ingress-class: the class of KIngresses the
	// layer's controller serves.
	Class string
	// Services are the layer's proxy Services (namespace/name), which must
	// exist before Knative Serving uses the layer.
	Services []string
}

// IngressNames are the values of a Spec's Ingress: the layers the provider
// installs, then External.
func IngressNames() []string { return append(manifests.Ingresses(), External) }

// IngressClass is config-network's ingress-class for spec: its layer's
// class, or the external layer's.
func (s Spec) IngressClass() string {
	if s.Ingress == External {
		return s.External.Class
	}
	return IngressClass(s.Ingress)
}

// layerObjects are the objects of spec's networking layer: none for an
// external one.
func (s Spec) layerObjects() ([]*unstructured.Unstructured, error) {
	if !slices.Contains(IngressNames(), s.Ingress) {
		return nil, fmt.Errorf("ingress %q is not supported; supported: %v", s.Ingress, IngressNames())
	}
	if s.Ingress != External {
		return manifests.LoadIngress(s.Version, s.Ingress)
	}
	if s.External.Class == "" {
		return nil, fmt.Errorf("ingress %q needs the ingress class of the networking layer it routes traffic through", External)
	}
	return nil, nil
}

// Validate checks what each frontend also checks before it calls the engine,
// worded without their field names: the ingress is known, an external layer
// has a valid class and Service names, and a layer of Layers has no external
// settings.
func (s Spec) Validate() error {
	switch {
	case !slices.Contains(IngressNames(), s.Ingress):
		return fmt.Errorf("ingress %q is not supported; supported: %v", s.Ingress, IngressNames())
	case s.Ingress != External:
		if s.External.Class != "" || len(s.External.Services) > 0 {
			return fmt.Errorf("the settings of an external networking layer (class %q) are only for ingress %q; ingress is %q", s.External.Class, External, s.Ingress)
		}
		return nil
	}
	if s.External.Class == "" {
		return fmt.Errorf("ingress %q needs the ingress class of the networking layer it routes traffic through", External)
	}
	if _, err := CheckExternalClass(s.External.Class); err != nil {
		return err
	}
	for _, key := range s.External.Services {
		if err := CheckServiceKey(key); err != nil {
			return err
		}
	}
	return nil
}

// CheckExternalClass says whether class can be the ingress class of a
// networking layer the user brings: an error when it cannot (not a DNS
// subdomain, as the classes of Knative's layers are, or the class of a layer
// this provider installs), a warning when it does not follow the convention
// of ending in ClassSuffix.
func CheckExternalClass(class string) (warning string, err error) {
	if errs := validation.IsDNS1123Subdomain(class); len(errs) > 0 {
		return "", fmt.Errorf("ingress class %q is not a DNS subdomain, as Knative's ingress classes are (such as traefik%s): %s",
			class, ClassSuffix, strings.Join(errs, "; "))
	}
	if ingress := IngressOfClass(class); ingress != "" {
		return "", fmt.Errorf("ingress class %q is the class of the %s layer this provider installs; use ingress %q instead of an external layer", class, ingress, ingress)
	}
	if !strings.HasSuffix(class, ClassSuffix) {
		warning = fmt.Sprintf("ingress class %q does not end in %q, as Knative's networking layers' classes do by convention (such as traefik%s). "+
			"It must be the class the layer's controller serves (Kong's is \"kong\"), or no route is served.", class, ClassSuffix, ClassSuffix)
	}
	return warning, nil
}

// CheckServiceKey says whether key names a Service as namespace/name.
func CheckServiceKey(key string) error {
	namespace, name, ok := strings.Cut(key, "/")
	if !ok || len(validation.IsDNS1123Label(namespace)) > 0 || len(validation.IsDNS1035Label(name)) > 0 {
		return fmt.Errorf("%q does not name a Service as namespace/name (such as traefik/traefik)", key)
	}
	return nil
}
