package v1alpha1

// ObjectMeta is where a Knative object lives on the target cluster and the
// labels and annotations it carries. Its name is the managed resource's
// external name (the crossplane.io/external-name annotation, by default the
// managed resource's name), which may also be written namespace/name.
type ObjectMeta struct {
	// Namespace of the object on the target cluster; default the managed
	// resource's namespace.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Labels of the object. Only these keys are managed: labels other writers
	// set are left alone and are not drift.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// Annotations of the object. Only these keys are managed: keys Knative
	// adds (serving.knative.dev/creator, lastModifier) are not drift.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}
