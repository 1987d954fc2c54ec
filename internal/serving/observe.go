package serving

import (
	"context"
	"fmt"
	"sort"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Observation is what refresh finds of an installation.
type Observation struct {
	// Found is false when none of the runtime's objects exist.
	Found bool
	// Version is the installed version according to the Service CRD's label.
	Version string
	// Drift lists, per object, what differs from the desired spec.
	Drift []string
	// Components is the readiness of each deployment.
	Components []Component
}

// Component is one deployment of the runtime.
type Component struct {
	Name      string
	Namespace string
	Ready     bool
	Message   string
}

// Observe reads the installation and compares it with spec. It costs one LIST
// per kind (by the release's label) plus one GET per unlabeled object, not one
// GET per object.
func (in *Installer) Observe(ctx context.Context, spec Spec) (*Observation, error) {
	desired, err := Desired(spec)
	if err != nil {
		return nil, err
	}
	live, err := in.listLive(ctx, desired)
	if err != nil {
		return nil, err
	}
	obs := &Observation{}
	for _, want := range desired {
		got := live[objectKey(want)]
		if got == nil {
			obs.Drift = append(obs.Drift, objectKey(want)+" is missing")
			continue
		}
		obs.Found = true
		if d := driftOf(want, got); d != "" {
			obs.Drift = append(obs.Drift, objectKey(want)+": "+d)
		}
		switch {
		case want.GetKind() == "Deployment":
			msg := deploymentPending(got)
			obs.Components = append(obs.Components, Component{Name: want.GetName(), Namespace: want.GetNamespace(), Ready: msg == "", Message: msg})
		case want.GetKind() == "CustomResourceDefinition" && want.GetName() == apiCRD:
			obs.Version = got.GetLabels()[versionLabel]
		}
	}
	// Another layer's objects, left by a switch that did not finish, among
	// the kinds listed anyway (no extra requests).
	others, err := otherLayers(spec, desired)
	if err != nil {
		return nil, err
	}
	left, err := in.leftovers(ctx, spec, others, live)
	if err != nil {
		return nil, err
	}
	for _, o := range left {
		obs.Drift = append(obs.Drift, objectKey(o)+" belongs to another networking layer than "+spec.Ingress)
	}
	sort.Slice(obs.Components, func(i, j int) bool {
		a, b := obs.Components[i], obs.Components[j]
		return a.Namespace+"/"+a.Name < b.Namespace+"/"+b.Name
	})
	return obs, nil
}

// listLive fetches the live objects for desired, keyed by objectKey.
func (in *Installer) listLive(ctx context.Context, desired []*unstructured.Unstructured) (map[string]*unstructured.Unstructured, error) {
	live := map[string]*unstructured.Unstructured{}
	listed := map[string]bool{}
	for _, want := range desired {
		k, err := kindOf(want)
		if err != nil {
			return nil, err
		}
		if want.GetLabels()[releaseLabel] != releaseLabelValue {
			// Not findable by label: one GET.
			got, err := in.resource(k, want.GetNamespace()).Get(ctx, want.GetName(), metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("reading %s: %w", objectKey(want), err)
			}
			live[objectKey(got)] = got
			continue
		}
		group := k.GVR.String()
		if listed[group] {
			continue
		}
		listed[group] = true
		list, err := in.Clients.Dynamic.Resource(k.GVR).List(ctx, metav1.ListOptions{LabelSelector: ReleaseSelector})
		if apierrors.IsNotFound(err) {
			continue // a LIST is only NotFound when the kind's CRD is gone, and its objects with it
		}
		if err != nil {
			return nil, fmt.Errorf("listing %s: %w", k.GVR.Resource, err)
		}
		for i := range list.Items {
			item := &list.Items[i]
			item.SetAPIVersion(want.GetAPIVersion())
			item.SetKind(want.GetKind())
			live[objectKey(item)] = item
		}
	}
	return live, nil
}

// driftOf compares the fields the installer applies with the live object.
// Fields Knative or Kubernetes rewrite on their own are left out: the webhook
// configurations' webhooks (rules, caBundle, selectors are Knative's), and
// what Desired already leaves out (aggregated rules, HPA-managed replicas).
func driftOf(want, got *unstructured.Unstructured) string {
	w := want.DeepCopy().Object
	delete(w, "status")
	delete(w, "apiVersion")
	delete(w, "kind")
	meta := map[string]any{}
	if labels := want.GetLabels(); len(labels) > 0 {
		meta["labels"] = toAny(labels)
	}
	if annotations := want.GetAnnotations(); len(annotations) > 0 {
		meta["annotations"] = toAny(annotations)
	}
	w["metadata"] = meta
	switch want.GetKind() {
	case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
		delete(w, "webhooks")
	}
	return firstDifference(w, got.Object, "")
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
