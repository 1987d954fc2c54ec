package serving

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"
	"knative.dev/pkg/apiextensions/storageversion"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// applyParallelism bounds concurrent applies; the client's rate limiter is the
// real bound, this keeps goroutines few.
const applyParallelism = 8

// Installer installs, upgrades, observes and removes the runtime.
type Installer struct {
	Clients *kube.Clients
	// Progress, when set, hears what the installer is doing (for logs).
	Progress func(msg string)
}

func (in *Installer) progress(format string, args ...any) {
	if in.Progress != nil {
		in.Progress(fmt.Sprintf(format, args...))
	}
}

// Apply converges the cluster on spec: it server-side applies every object
// (idempotent, so an interrupted apply is finished by the next one), prunes
// what previous no longer ships, migrates stored versions after an upgrade,
// and, when wait is set, returns once the runtime is usable.
//
// A networking layer's prerequisites are checked before anything is written.
// Switching layers is in place: the new layer is installed beside the old
// one, config-network names it once it runs, and the old layer's objects go
// once the new one serves every route (so an apply that switches layers
// always waits).
func (in *Installer) Apply(ctx context.Context, spec Spec, previous *Spec, wait bool) error {
	objs, err := Desired(spec)
	if err != nil {
		return err
	}
	if err := in.CheckPrerequisites(ctx, spec); err != nil {
		return err
	}
	// The layer being switched from is the class config-network names: one
	// of Layers, or one the user brought (External), whose name the spec
	// being applied need not know.
	from, err := in.installedClass(ctx)
	if err != nil {
		return err
	}
	switching := from != "" && from != spec.IngressClass()
	network := findObject(objs, "ConfigMap", Namespace, "config-network")
	if switching && network != nil {
		// Routes stay on the old layer until the new one runs.
		in.progress("switching the networking layer from %s (%s) to %s (%s)", ingressOf(from, spec), from, spec.Ingress, spec.IngressClass())
		objs = slices.Clone(objs)
		i := slices.Index(objs, network)
		objs[i] = network.DeepCopy()
		if err := unstructured.SetNestedField(objs[i].Object, from, "data", "ingress-class"); err != nil {
			return err
		}
	}
	var first, rest []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Namespace" || o.GetKind() == "CustomResourceDefinition" {
			first = append(first, o)
		} else {
			rest = append(rest, o)
		}
	}
	// CRDs must be established before objects of their kinds (the core
	// manifest has a Certificate before its CRD).
	if err := in.waitTerminated(ctx, first); err != nil {
		return err
	}
	in.progress("applying %d namespaces and CRDs", len(first))
	if err := in.applyAll(ctx, first); err != nil {
		return err
	}
	if err := in.waitEstablished(ctx, first); err != nil {
		return err
	}
	in.progress("applying %d objects", len(rest))
	if err := in.applyAll(ctx, rest); err != nil {
		return err
	}
	if previous != nil && previous.Version != spec.Version {
		// The core's objects only: another layer's go once this one serves.
		core := *previous
		core.Ingress, core.External = spec.Ingress, spec.External
		if err := in.prune(ctx, core, objs); err != nil {
			return err
		}
		if err := in.migrateStorageVersions(ctx, first); err != nil {
			return err
		}
	}
	if err := in.retireOtherLayers(ctx, spec, objs, network, switching); err != nil {
		return err
	}
	if !wait {
		return nil
	}
	return in.WaitReady(ctx, spec)
}

// waitTerminated returns once none of objs is being deleted. Applying to a
// CRD or namespace an earlier removal is still deleting succeeds, and moments
// later the object is gone with everything of its kind or in it.
func (in *Installer) waitTerminated(ctx context.Context, objs []*unstructured.Unstructured) error {
	terminating := func() []string {
		live, err := in.listLive(ctx, objs)
		if err != nil {
			return []string{err.Error()}
		}
		var names []string
		for _, o := range live {
			if o.GetDeletionTimestamp() != nil {
				names = append(names, o.GetKind()+" "+o.GetName())
			}
		}
		sort.Strings(names)
		return names
	}
	left := terminating()
	if len(left) == 0 {
		return nil
	}
	in.progress("waiting for %d objects an earlier removal is deleting: %s", len(left), strings.Join(left, ", "))
	last, err := pollRead(ctx, func() ([]string, error) { return terminating(), nil }, empty)
	if err != nil {
		if last != nil {
			left = last
		}
		return fmt.Errorf("objects an earlier removal is deleting are still there (%s); they must be gone before Knative Serving is installed again: %w",
			strings.Join(left, ", "), err)
	}
	return nil
}

// applyAll applies objs in parallel. Objects the runtime's own webhook admits
// (its config maps, Certificates, Images) are refused while the webhook cannot
// be called: after an interrupted install its configurations can outlive a
// Service or Deployment not yet written, and an upgrade restarts it. Those are
// applied again once everything else is written, until the webhook admits
// them or ctx ends.
func (in *Installer) applyAll(ctx context.Context, objs []*unstructured.Unstructured) error {
	var mu sync.Mutex
	var refused []*unstructured.Unstructured
	var last, refusal error // the webhook's last unreachability; what ends the wait
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(applyParallelism)
	for _, o := range objs {
		g.Go(func() error {
			err := in.apply(gctx, o)
			if webhookUnreachable(err) {
				mu.Lock()
				defer mu.Unlock()
				refused, last = append(refused, o), err
				return nil
			}
			return err
		})
	}
	if err := g.Wait(); err != nil || len(refused) == 0 {
		return err
	}
	in.progress("waiting for Knative's webhook to admit %d objects", len(refused))
	err := pollUntil(ctx, func() bool {
		pending := refused[:0]
		for _, o := range refused {
			switch err := in.apply(ctx, o); {
			case webhookUnreachable(err):
				pending, last = append(pending, o), err
			case err != nil && ctx.Err() != nil:
				// ctx ended during the apply: the wait ends below with the
				// webhook's last unreachability, not ctx's error.
				pending = append(pending, o)
			case err != nil:
				refusal = err // the webhook answered, or something else failed: no use waiting
				return true
			}
		}
		refused = pending
		return len(refused) == 0
	})
	switch {
	case refusal != nil:
		return refusal
	case err != nil:
		return fmt.Errorf("%w (gave up waiting: %w)", explainAdmission(last), err)
	}
	return nil
}

func (in *Installer) apply(ctx context.Context, o *unstructured.Unstructured) error {
	k, err := kindOf(o)
	if err != nil {
		return err
	}
	_, err = in.resource(k, o.GetNamespace()).Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: in.Clients.FieldManager, Force: true})
	if err != nil {
		return fmt.Errorf("applying %s: %w", objectKey(o), err)
	}
	return nil
}

func (in *Installer) resource(k kind, namespace string) dynamicResource {
	r := in.Clients.Dynamic.Resource(k.GVR)
	if k.Namespaced {
		return r.Namespace(namespace)
	}
	return r
}

// prune deletes objects the previous version shipped and this one does not.
func (in *Installer) prune(ctx context.Context, previous Spec, current []*unstructured.Unstructured) error {
	old, err := Desired(previous)
	if err != nil {
		return err
	}
	for _, o := range dropped(old, current) {
		in.progress("pruning %s (not shipped by this version)", objectKey(o))
		if err := in.deleteObject(ctx, o); err != nil {
			return err
		}
	}
	return nil
}

// dropped returns the objects of old that current does not have.
func dropped(old, current []*unstructured.Unstructured) []*unstructured.Unstructured {
	keep := map[string]bool{}
	for _, o := range current {
		keep[objectKey(o)] = true
	}
	var out []*unstructured.Unstructured
	for _, o := range old {
		if !keep[objectKey(o)] {
			out = append(out, o)
		}
	}
	return out
}

// migrateStorageVersions rewrites stored objects to each CRD's storage version
// and drops the old versions from status.storedVersions, the job of the
// release's post-install storage-version-migration Job.
func (in *Installer) migrateStorageVersions(ctx context.Context, objs []*unstructured.Unstructured) error {
	migrator := storageversion.NewMigrator(in.Clients.Dynamic, in.Clients.APIExtensions)
	for _, o := range objs {
		if o.GetKind() != "CustomResourceDefinition" {
			continue
		}
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		plural, _, _ := unstructured.NestedString(o.Object, "spec", "names", "plural")
		if err := migrator.Migrate(ctx, schema.GroupResource{Group: group, Resource: plural}); err != nil {
			return fmt.Errorf("migrating the storage version of %s: %w", o.GetName(), err)
		}
	}
	return nil
}

func (in *Installer) deleteObject(ctx context.Context, o *unstructured.Unstructured) error {
	k, err := kindOf(o)
	if err != nil {
		return err
	}
	// A Deployment is gone once its pods are (their graceful termination
	// included), so a wait for it is a wait for them.
	policy := metav1.DeletePropagationBackground
	if o.GetKind() == "Deployment" {
		policy = metav1.DeletePropagationForeground
	}
	err = in.resource(k, o.GetNamespace()).Delete(ctx, o.GetName(), metav1.DeleteOptions{PropagationPolicy: &policy})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting %s: %w", objectKey(o), err)
	}
	return nil
}

// WaitReady returns once the runtime is usable: CRDs established, every
// deployment available with its latest generation, and the webhook serving
// with its CA bundle injected (from then on Knative objects and config maps go
// through it).
func (in *Installer) WaitReady(ctx context.Context, spec Spec) error {
	objs, err := Desired(spec)
	if err != nil {
		return err
	}
	if err := in.waitEstablished(ctx, objs); err != nil {
		return err
	}
	if err := in.waitDeployments(ctx, objs); err != nil {
		return err
	}
	return in.waitWebhook(ctx, objs)
}

func (in *Installer) waitEstablished(ctx context.Context, objs []*unstructured.Unstructured) error {
	want := namesOf(objs, "CustomResourceDefinition")
	if len(want) == 0 {
		return nil
	}
	in.progress("waiting for %d CRDs to be established", len(want))
	return in.waitFor(ctx, builtinKinds["apiextensions.k8s.io/v1/CustomResourceDefinition"], "CRDs to be established",
		func(live map[string]*unstructured.Unstructured) string {
			var pending []string
			for _, name := range want {
				crd := live[name]
				if crd == nil || conditionStatus(crd, "Established") != "True" {
					pending = append(pending, "CRD "+name+" is not established")
				}
			}
			return strings.Join(pending, "; ")
		})
}

func (in *Installer) waitDeployments(ctx context.Context, objs []*unstructured.Unstructured) error {
	var deployments []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == "Deployment" {
			deployments = append(deployments, o)
		}
	}
	in.progress("waiting for %d deployments to be available", len(deployments))
	return in.waitFor(ctx, builtinKinds["apps/v1/Deployment"], "deployments to be available",
		func(live map[string]*unstructured.Unstructured) string {
			var pending []string
			for _, d := range deployments {
				if msg := deploymentPending(live[d.GetNamespace()+"/"+d.GetName()]); msg != "" {
					pending = append(pending, objectKey(d)+": "+msg)
				}
			}
			return strings.Join(pending, "; ")
		})
}

// deploymentPending says why a deployment is not yet available, or "".
func deploymentPending(d *unstructured.Unstructured) string {
	if d == nil {
		return "missing"
	}
	generation := d.GetGeneration()
	observed, _, _ := unstructured.NestedInt64(d.Object, "status", "observedGeneration")
	if observed < generation {
		return "rollout not yet observed by the deployment controller"
	}
	replicas, found, _ := unstructured.NestedInt64(d.Object, "spec", "replicas")
	if !found {
		replicas = 1
	}
	updated, _, _ := unstructured.NestedInt64(d.Object, "status", "updatedReplicas")
	available, _, _ := unstructured.NestedInt64(d.Object, "status", "availableReplicas")
	if updated < replicas || available < replicas {
		msg := fmt.Sprintf("%d/%d replicas updated, %d available", updated, replicas, available)
		if c := condition(d, "Progressing"); c != nil && c["status"] == "False" {
			msg += fmt.Sprintf(" (%v: %v)", c["reason"], c["message"])
		}
		return msg
	}
	if conditionStatus(d, "Available") != "True" {
		return "not available"
	}
	return ""
}

func (in *Installer) waitWebhook(ctx context.Context, objs []*unstructured.Unstructured) error {
	for _, kindName := range []string{"ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"} {
		want := namesOf(objs, kindName)
		if len(want) == 0 {
			continue
		}
		in.progress("waiting for Knative's webhook to inject its CA bundle into %d %ss", len(want), kindName)
		err := in.waitFor(ctx, builtinKinds["admissionregistration.k8s.io/v1/"+kindName], "Knative's webhook to configure itself",
			func(live map[string]*unstructured.Unstructured) string {
				var pending []string
				for _, name := range want {
					if !caBundleInjected(live[name]) {
						pending = append(pending, kindName+" "+name+" has no CA bundle yet (is the webhook deployment running?)")
					}
				}
				return strings.Join(pending, "; ")
			})
		if err != nil {
			return err
		}
	}
	return in.waitWebhookServing(ctx, objs)
}

// waitWebhookServing proves the webhook answers admission requests: a
// server-side dry-run of config-network passes through Knative's config
// validation webhook, whose failure policy is Fail.
func (in *Installer) waitWebhookServing(ctx context.Context, objs []*unstructured.Unstructured) error {
	probe := findObject(objs, "ConfigMap", Namespace, "config-network")
	if probe == nil {
		return nil
	}
	in.progress("waiting for Knative's webhook to serve admission requests")
	k, _ := kindOf(probe)
	_, err := pollRead(ctx, func() (*unstructured.Unstructured, error) {
		return in.resource(k, Namespace).Apply(ctx, probe.GetName(), probe, metav1.ApplyOptions{
			FieldManager: in.Clients.FieldManager, Force: true, DryRun: []string{metav1.DryRunAll}})
	}, anything)
	if err != nil {
		return fmt.Errorf("Knative's webhook does not serve admission requests: %w", err)
	}
	return nil
}

// waitFor watches all objects of a kind (in every namespace) until pending
// returns "" and says what was still pending when ctx ends.
func (in *Installer) waitFor(ctx context.Context, k kind, what string, pending func(map[string]*unstructured.Unstructured) string) error {
	lw := listWatch(in.resource(k, ""), "")
	var (
		mu   sync.Mutex
		last string
	)
	var store cache.Store
	done := func() bool {
		live := map[string]*unstructured.Unstructured{}
		for _, item := range store.List() {
			u := item.(*unstructured.Unstructured)
			live[cache.MetaObjectToName(u).String()] = u
		}
		p := pending(live)
		mu.Lock()
		last = p
		mu.Unlock()
		return p == ""
	}
	_, err := watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{},
		func(s cache.Store) (bool, error) { store = s; return done(), nil },
		func(watch.Event) (bool, error) { return done(), nil })
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		if last != "" && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, watchtools.ErrWatchClosed) || ctx.Err() != nil) {
			return fmt.Errorf("timed out waiting for %s: %s", what, last)
		}
		return fmt.Errorf("waiting for %s: %w", what, err)
	}
	return nil
}

func namesOf(objs []*unstructured.Unstructured, kindName string) []string {
	var names []string
	for _, o := range objs {
		if o.GetKind() == kindName {
			names = append(names, cache.MetaObjectToName(o).String())
		}
	}
	sort.Strings(names)
	return names
}

func caBundleInjected(o *unstructured.Unstructured) bool {
	if o == nil {
		return false
	}
	webhooks, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
	if len(webhooks) == 0 {
		return false
	}
	for _, w := range webhooks {
		m, _ := w.(map[string]any)
		bundle, _, _ := unstructured.NestedString(m, "clientConfig", "caBundle")
		if bundle == "" {
			return false
		}
	}
	return true
}
