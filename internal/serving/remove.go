package serving

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// workloadKinds are the users' Knative objects whose presence stops a removal.
var workloadKinds = []struct {
	Kind string
	GVR  schema.GroupVersionResource
}{
	{"Service", ServicesGVR},
	{"Route", RoutesGVR},
	{"DomainMapping", DomainMappingsGVR},
}

// ErrWorkloadsExist means removal was refused because users' Knative objects
// exist. Each frontend says how its users let removal delete them.
type ErrWorkloadsExist struct{ Objects []string }

func (e *ErrWorkloadsExist) Error() string {
	shown := e.Objects
	more := ""
	if len(shown) > 20 {
		shown, more = shown[:20], fmt.Sprintf("\n  ... and %d more", len(e.Objects)-20)
	}
	return fmt.Sprintf("Knative Serving still serves %d Knative objects; removing the runtime would delete them with their CRDs:\n  %s%s",
		len(e.Objects), strings.Join(shown, "\n  "), more)
}

// Workloads lists users' Knative Services, Routes and DomainMappings.
func (in *Installer) Workloads(ctx context.Context) ([]string, error) {
	var found []string
	for _, w := range workloadKinds {
		list, err := in.Clients.Dynamic.Resource(w.GVR).List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) {
			continue // the CRD is gone
		}
		if err != nil {
			return nil, fmt.Errorf("listing Knative %ss: %w", w.Kind, err)
		}
		for _, item := range list.Items {
			// Routes of Services are the Services' own; list what users created.
			if w.Kind == "Route" && len(item.GetOwnerReferences()) > 0 {
				continue
			}
			found = append(found, w.Kind+" "+item.GetNamespace()+"/"+item.GetName())
		}
	}
	sort.Strings(found)
	return found, nil
}

// Remove uninstalls the runtime. It refuses while users' Knative objects exist
// unless deleteWorkloads is set; then it deletes them first, while Knative's
// controller still runs to finish their finalizers. It returns once every
// object is gone, or says what is left when ctx ends.
func (in *Installer) Remove(ctx context.Context, spec Spec, deleteWorkloads bool) error {
	workloads, err := in.Workloads(ctx)
	if err != nil {
		return err
	}
	if len(workloads) > 0 {
		if !deleteWorkloads {
			return &ErrWorkloadsExist{Objects: workloads}
		}
		in.progress("deleting %d Knative objects before the runtime", len(workloads))
		for _, w := range workloadKinds {
			if err := in.deleteEach(ctx, w.GVR); err != nil {
				return fmt.Errorf("deleting Knative %ss: %w", w.Kind, err)
			}
		}
	}
	routes, err := in.count(ctx, RoutesGVR)
	if err != nil {
		return err
	}
	if len(workloads) > 0 || routes > 0 {
		// Revisions must be gone (and with them their Deployments) before the
		// CRDs: once a kind's CRD is deleted the garbage collector cannot
		// resolve owners of that kind, and their dependents would be orphaned.
		// Routes of Services too: Knative's controller removes their
		// finalizers, and once the runtime is gone nothing would, leaving the
		// Route CRD terminating and blocking the next install.
		left, err := pollRead(ctx, func() ([]string, error) { return in.beingDeleted(ctx) }, empty)
		switch {
		case err != nil && len(left) == 0:
			return fmt.Errorf("waiting until Knative objects are deleted before the runtime: %w", err)
		case err != nil:
			return fmt.Errorf("Knative objects are still being deleted (%s): %w", strings.Join(left, ", "), err)
		}
	}

	objs, err := Desired(spec)
	if err != nil {
		return err
	}
	left, err := in.otherLayersPresent(ctx, spec, objs)
	if err != nil {
		return err
	}
	objs = append(objs, left...) // what a failed layer switch left behind
	// Webhook configurations first: with failurePolicy Fail they would block
	// deletes once the webhook is gone. Namespaces only once the workloads'
	// pods are gone: the namespace controller, finding pods still
	// terminating, looks again only after their grace period (the
	// activator's is 600 s), however soon they exit. CRDs last: deleting one
	// deletes its objects.
	rank := func(o *unstructured.Unstructured) int {
		switch o.GetKind() {
		case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
			return 0
		case "Namespace":
			return 2
		case "CustomResourceDefinition":
			return 3
		}
		return 1
	}
	sort.SliceStable(objs, func(i, j int) bool { return rank(objs[i]) < rank(objs[j]) })
	last := slices.IndexFunc(objs, func(o *unstructured.Unstructured) bool { return rank(o) >= 2 })
	if last < 0 {
		last = len(objs)
	}
	for _, phase := range [][]*unstructured.Unstructured{objs[:last], objs[last:]} {
		in.progress("deleting %d objects", len(phase))
		for _, o := range phase {
			if err := in.deleteObject(ctx, o); err != nil {
				return err
			}
		}
		in.progress("waiting until the runtime's objects are gone")
		remaining, err := pollRead(ctx, func() ([]string, error) { return in.remaining(ctx, phase), nil }, empty)
		if err != nil {
			what := strings.Join(remaining, ", ")
			if len(remaining) == 0 {
				what = "unknown (" + err.Error() + ")"
			}
			return fmt.Errorf("the runtime is partly removed; still present: %s. Run destroy again to finish", what)
		}
	}
	return nil
}

// beingDeleted names the users' Knative objects and counts the revisions and
// routes that still exist. A read that fails is not "none left".
func (in *Installer) beingDeleted(ctx context.Context) ([]string, error) {
	left, err := in.Workloads(ctx)
	if err != nil {
		return nil, err
	}
	for _, gvr := range []schema.GroupVersionResource{RevisionsGVR, RoutesGVR} {
		n, err := in.count(ctx, gvr)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			left = append(left, fmt.Sprintf("%d %s", n, gvr.Resource))
		}
	}
	return left, nil
}

// count returns how many objects of a kind exist in all namespaces (0 when
// the kind is not served).
func (in *Installer) count(ctx context.Context, gvr schema.GroupVersionResource) (int, error) {
	list, err := in.Clients.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("listing Knative %s: %w", gvr.Resource, err)
	}
	return len(list.Items), nil
}

func (in *Installer) deleteEach(ctx context.Context, gvr schema.GroupVersionResource) error {
	list, err := in.Clients.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, item := range list.Items {
		foreground := metav1.DeletePropagationForeground
		err := in.Clients.Dynamic.Resource(gvr).Namespace(item.GetNamespace()).Delete(ctx, item.GetName(), metav1.DeleteOptions{PropagationPolicy: &foreground})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

// remaining names the objects that still exist, cheapest first: namespaced
// objects go with their namespaces, so those are checked by namespace.
func (in *Installer) remaining(ctx context.Context, objs []*unstructured.Unstructured) []string {
	live, err := in.listLive(ctx, objs)
	if err != nil {
		return []string{err.Error()}
	}
	var left []string
	for _, o := range objs {
		if got := live[objectKey(o)]; got != nil {
			state := ""
			if got.GetDeletionTimestamp() != nil {
				state = " (terminating)"
			}
			left = append(left, objectKey(o)+state)
		}
	}
	return left
}
