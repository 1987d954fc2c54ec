package controller

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crossplane/crossplane-runtime/v2/pkg/event"
	"github.com/crossplane/crossplane-runtime/v2/pkg/meta"
	"github.com/crossplane/crossplane-runtime/v2/pkg/reconciler/managed"
	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	duckv1 "knative.dev/pkg/apis/duck/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
	"github.com/tf-knative/terraform-provider-knative/internal/kube/kubetest"
	"github.com/tf-knative/terraform-provider-knative/internal/serving"
	"github.com/tf-knative/terraform-provider-knative/internal/serving/manifests"
)

// The external clients of every managed resource kind, table-driven on a
// fake target cluster (as provider-kubernetes tests its object client). The
// acceptance tests run the same through crossplane-runtime's reconciler
// against Knative.

// recorder keeps the events an external client records.
type recorder struct{ events []event.Event }

func (r *recorder) Event(_ runtime.Object, e event.Event)    { r.events = append(r.events, e) }
func (r *recorder) WithAnnotations(...string) event.Recorder { return r }

func serviceMR(image string) *servingv1alpha1.Service {
	mg := &servingv1alpha1.Service{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "apps"}}
	if image != "" {
		mg.Spec.ForProvider.Spec = &servingv1.ServiceSpec{ConfigurationSpec: servingv1.ConfigurationSpec{Template: servingv1.RevisionTemplateSpec{
			Spec: servingv1.RevisionSpec{PodSpec: corev1.PodSpec{Containers: []corev1.Container{{Image: image}}}},
		}}}
		mg.Spec.ForProvider.Labels = map[string]string{"team": "a"}
	}
	return mg
}

func serviceExternal(c *kubetest.Cluster) (*objectExternal[*servingv1alpha1.Service], *recorder) {
	r := &recorder{}
	return &objectExternal[*servingv1alpha1.Service]{kind: serviceKind, clients: c.Clients, objects: serviceKind.kind.On(c.Clients), record: r}, r
}

// knativeService is the Knative Service on the target cluster, as Knative's
// controller leaves it with the given Ready condition.
func knativeService(image string, generation, observed int64, ready, reason, message string) *unstructured.Unstructured {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "serving.knative.dev/v1", "kind": "Service",
		"metadata": map[string]any{"name": "hello", "namespace": "apps", "generation": generation, "labels": map[string]any{"team": "a", ManagedLabel: FieldManager}},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{"image": image}}, "containerConcurrency": int64(0),
		}}},
		"status": map[string]any{
			"observedGeneration": observed, "url": "http://hello.apps.example.com",
			"address":    map[string]any{"url": "http://hello.apps.svc.cluster.local"},
			"conditions": []any{map[string]any{"type": "Ready", "status": ready, "reason": reason, "message": message}},
		},
	}}
	if ready == "" {
		delete(obj.Object, "status")
	}
	return obj
}

func TestServiceObserve(t *testing.T) {
	for _, tc := range []struct {
		name    string
		mg      *servingv1alpha1.Service
		live    *unstructured.Unstructured
		getErr  error
		want    managed.ExternalObservation
		wantErr string
		ready   xpv2.Condition
		event   string
		adopted string // the image forProvider adopts on import
	}{
		{name: "not found", mg: serviceMR("example.com/app-a"), want: managed.ExternalObservation{ResourceExists: false}},
		{name: "read fails", mg: serviceMR("example.com/app-a"), getErr: apierrors.NewForbidden(serving.ServicesGVR.GroupResource(), "hello", errors.New("RBAC")),
			wantErr: "cannot read the Knative Service apps/hello"},
		{name: "ready, in sync", mg: serviceMR("example.com/app-a"), live: knativeService("example.com/app-a", 1, 1, "True", "", ""),
			want:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
			ready: xpv2.Available()},
		{name: "drift", mg: serviceMR("example.com/app-a"), live: knativeService("example.com/app-b", 1, 1, "True", "", ""),
			want:  managed.ExternalObservation{ResourceExists: true, Diff: `spec.template.spec.containers[0].image is "example.com/app-b", want "example.com/app-a"`},
			ready: xpv2.Available()},
		{name: "Knative failed, with its reason", mg: serviceMR("example.com/app-a"), live: knativeService("example.com/app-a", 1, 1, "False", "RevisionFailed", "Unable to fetch image"),
			want:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
			ready: xpv2.Unavailable().WithMessage("RevisionFailed: Unable to fetch image"), event: "RevisionFailed: Unable to fetch image"},
		{name: "generation not observed yet", mg: serviceMR("example.com/app-a"), live: knativeService("example.com/app-a", 2, 1, "True", "", ""),
			want:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
			ready: xpv2.Creating().WithMessage("Knative has not reconciled generation 2 yet (observed 1)")},
		{name: "no status yet", mg: serviceMR("example.com/app-a"), live: knativeService("example.com/app-a", 1, 0, "", "", ""),
			want:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
			ready: xpv2.Creating().WithMessage("Knative has not reconciled generation 1 yet (observed 0)")},
		{name: "import: forProvider adopted", mg: serviceMR(""), live: knativeService("example.com/app-c", 1, 1, "True", "", ""),
			want:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true, ResourceLateInitialized: true},
			ready: xpv2.Available(), adopted: "example.com/app-c"},
		{name: "being deleted", mg: deletingMR(serviceMR("example.com/app-a")), live: knativeService("example.com/app-a", 1, 1, "True", "", ""),
			want:  managed.ExternalObservation{ResourceExists: true, ResourceUpToDate: true},
			ready: xpv2.Deleting()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := kubetest.New()
			if tc.live != nil {
				c.Put(serving.ServicesGVR, tc.live)
			}
			if tc.getErr != nil {
				c.Fail("get", "services", tc.getErr, nil)
			}
			e, events := serviceExternal(c)
			got, err := e.Observe(context.Background(), tc.mg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Observe = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ResourceExists != tc.want.ResourceExists || got.ResourceUpToDate != tc.want.ResourceUpToDate ||
				got.ResourceLateInitialized != tc.want.ResourceLateInitialized || !strings.Contains(got.Diff, tc.want.Diff) || (tc.want.Diff == "") != (got.Diff == "") {
				t.Errorf("Observe = %+v, want %+v", got, tc.want)
			}
			if tc.live == nil {
				return
			}
			if c := tc.mg.GetCondition(xpv2.TypeReady); !c.Equal(tc.ready) {
				t.Errorf("Ready = %+v, want %+v", c, tc.ready)
			}
			if tc.event != "" && (len(events.events) != 1 || events.events[0].Message != tc.event) {
				t.Errorf("events = %+v, want one with %q", events.events, tc.event)
			}
			if tc.adopted != "" && tc.mg.Spec.ForProvider.Spec.Template.Spec.Containers[0].Image != tc.adopted {
				t.Errorf("adopted forProvider.spec = %+v", tc.mg.Spec.ForProvider.Spec)
			}
			if tc.mg.Status.AtProvider.URL == nil || tc.mg.Status.AtProvider.URL.String() != "http://hello.apps.example.com" {
				if tc.live.Object["status"] != nil {
					t.Errorf("atProvider.url = %v", tc.mg.Status.AtProvider.URL)
				}
			}
			if tc.live.Object["status"] != nil && !meta.WasDeleted(tc.mg) && string(got.ConnectionDetails["url"]) != "http://hello.apps.example.com" {
				t.Errorf("connection details = %v", got.ConnectionDetails)
			}
		})
	}
}

func deletingMR[M interface{ SetDeletionTimestamp(*metav1.Time) }](mg M) M {
	now := metav1.Now()
	mg.SetDeletionTimestamp(&now)
	return mg
}

func TestServiceFailureEventOnlyOnChange(t *testing.T) {
	c := kubetest.New()
	c.Put(serving.ServicesGVR, knativeService("example.com/app-a", 1, 1, "False", "RevisionFailed", "no image"))
	e, events := serviceExternal(c)
	mg := serviceMR("example.com/app-a")
	for range 3 {
		if _, err := e.Observe(context.Background(), mg); err != nil {
			t.Fatal(err)
		}
	}
	if len(events.events) != 1 {
		t.Errorf("%d events over three polls of the same failure, want 1", len(events.events))
	}
}

func TestServiceCreateUpdateDelete(t *testing.T) {
	ctx := context.Background()
	c := kubetest.New()
	e, _ := serviceExternal(c)
	mg := serviceMR("example.com/app-a")
	mg.Spec.ForProvider.Namespace = "team-a"
	if _, err := e.Create(ctx, mg); err != nil {
		t.Fatal(err)
	}
	live := c.Get(serving.ServicesGVR, "team-a", "hello")
	if live == nil || live.GetLabels()["team"] != "a" {
		t.Fatalf("created %v", live)
	}
	if mg.GetCondition(xpv2.TypeReady).Reason != xpv2.ReasonCreating {
		t.Errorf("Ready after Create = %+v", mg.GetCondition(xpv2.TypeReady))
	}
	// A Create after a lost status write finds its own object: applied again.
	if _, err := e.Create(ctx, mg); err != nil {
		t.Fatalf("Create of an existing Service = %v", err)
	}
	mg.Spec.ForProvider.Spec.Template.Spec.Containers[0].Image = "example.com/app-b"
	if _, err := e.Update(ctx, mg); err != nil {
		t.Fatal(err)
	}
	if live = c.Get(serving.ServicesGVR, "team-a", "hello"); live.GetGeneration() != 2 {
		t.Errorf("generation after Update = %d", live.GetGeneration())
	}
	// The external name may carry the namespace.
	meta.SetExternalName(mg, "other/hello-ext")
	if ns, name := e.identity(mg); ns != "other" || name != "hello-ext" {
		t.Errorf("identity = %s/%s", ns, name)
	}
	meta.SetExternalName(mg, "hello")
	if _, err := e.Delete(ctx, mg); err != nil {
		t.Fatal(err)
	}
	if c.Get(serving.ServicesGVR, "team-a", "hello") != nil {
		t.Error("the Knative Service is still there after Delete")
	}
	if _, err := e.Delete(ctx, mg); err != nil {
		t.Errorf("Delete of a missing Service = %v", err)
	}
	if err := e.Disconnect(ctx); err != nil {
		t.Error(err)
	}
}

func TestServiceWritesRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		mg   *servingv1alpha1.Service
		fail func(*kubetest.Cluster)
		want string
	}{
		{name: "Knative's validation", mg: serviceMR("example.com/app-a"), fail: func(*kubetest.Cluster) {},
			want: "Knative's validation rejects this Knative Service"},
		{name: "the webhook refuses", mg: serviceMR("example.com/app-a"), fail: func(c *kubetest.Cluster) {
			c.Fail("patch", "services", apierrors.NewBadRequest(`admission webhook "validation.webhook.serving.knative.dev" denied the request`), nil)
		}, want: "cannot apply the Knative Service apps/hello: admission webhook"},
		{name: "a conflicting create", mg: serviceMR("example.com/app-a"), fail: func(c *kubetest.Cluster) {
			c.Fail("get", "services", apierrors.NewConflict(serving.ServicesGVR.GroupResource(), "hello", errors.New("changed")), nil)
		}, want: "Operation cannot be fulfilled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := kubetest.New()
			tc.fail(c)
			if tc.name == "Knative's validation" {
				tc.mg.Spec.ForProvider.Spec.Template.Spec.TimeoutSeconds = ptr(int64(-1))
			}
			e, _ := serviceExternal(c)
			_, err := e.Create(ctx, tc.mg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Create = %v, want %q", err, tc.want)
			}
			if c.Get(serving.ServicesGVR, "apps", "hello") != nil {
				t.Error("a refused Service was written")
			}
		})
	}
	c := kubetest.New()
	c.Fail("delete", "services", apierrors.NewInternalError(errors.New("etcd")), nil)
	e, _ := serviceExternal(c)
	if _, err := e.Delete(ctx, serviceMR("example.com/app-a")); err == nil || !strings.Contains(err.Error(), "cannot delete the Knative Service apps/hello") {
		t.Errorf("Delete = %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func domainMappingMR(claim *bool) *servingv1alpha1.DomainMapping {
	mg := &servingv1alpha1.DomainMapping{ObjectMeta: metav1.ObjectMeta{Name: "hello.example.org", Namespace: "apps"}}
	mg.Spec.ForProvider.ClaimDomain = claim
	mg.Spec.ForProvider.Spec = &servingv1alpha1.DomainMappingTarget{Ref: &duckv1.KReference{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "hello"}}
	return mg
}

func TestDomainMappingClaims(t *testing.T) {
	ctx := context.Background()
	c := kubetest.New()
	e := &objectExternal[*servingv1alpha1.DomainMapping]{kind: domainMappingKind, clients: c.Clients, objects: domainMappingKind.kind.On(c.Clients), record: &recorder{}}
	mg := domainMappingMR(nil)
	if _, err := e.Create(ctx, mg); err != nil {
		t.Fatal(err)
	}
	if c.Get(serving.ClusterDomainClaimsGVR, "", "hello.example.org") == nil {
		t.Fatal("no ClusterDomainClaim after Create")
	}
	// The claim taken away out of band is drift.
	_ = c.Dynamic.Tracker().Delete(serving.ClusterDomainClaimsGVR, "", "hello.example.org")
	obs, err := e.Observe(ctx, mg)
	if err != nil || obs.ResourceUpToDate || !strings.Contains(obs.Diff, `namespace "apps" does not hold the ClusterDomainClaim hello.example.org`) {
		t.Fatalf("Observe without the claim = %+v, %v", obs, err)
	}
	if _, err := e.Update(ctx, mg); err != nil {
		t.Fatal(err)
	}
	if obs, err := e.Observe(ctx, mg); err != nil || !obs.ResourceUpToDate {
		t.Fatalf("Observe after Update = %+v, %v", obs, err)
	}
	// Deleted: the claim goes once the mapping is gone.
	deletingMR(mg)
	if _, err := e.Delete(ctx, mg); err != nil {
		t.Fatal(err)
	}
	if obs, err := e.Observe(ctx, mg); err != nil || obs.ResourceExists {
		t.Fatalf("Observe after Delete = %+v, %v", obs, err)
	}
	if c.Get(serving.ClusterDomainClaimsGVR, "", "hello.example.org") != nil {
		t.Error("the claim outlived the mapping")
	}
	// claimDomain false: no claim is made or checked.
	c = kubetest.New()
	e = &objectExternal[*servingv1alpha1.DomainMapping]{kind: domainMappingKind, clients: c.Clients, objects: domainMappingKind.kind.On(c.Clients), record: &recorder{}}
	mg = domainMappingMR(ptr(false))
	if _, err := e.Create(ctx, mg); err != nil {
		t.Fatal(err)
	}
	if obs, err := e.Observe(ctx, mg); err != nil || !obs.ResourceUpToDate || c.Get(serving.ClusterDomainClaimsGVR, "", "hello.example.org") != nil {
		t.Fatalf("claimDomain false: %+v, %v", obs, err)
	}
	deletingMR(mg)
	_, _ = e.Delete(ctx, mg)
	if _, err := e.Observe(ctx, mg); err != nil {
		t.Fatal(err)
	}
}

func TestRouteRefusesAServicesOwnRoute(t *testing.T) {
	c := kubetest.New()
	owned := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "serving.knative.dev/v1", "kind": "Route", "metadata": map[string]any{"name": "hello", "namespace": "apps"}}}
	owned.SetOwnerReferences([]metav1.OwnerReference{{APIVersion: "serving.knative.dev/v1", Kind: "Service", Name: "hello"}})
	c.Put(serving.RoutesGVR, owned)
	e := &objectExternal[*servingv1alpha1.Route]{kind: routeKind, clients: c.Clients, objects: routeKind.kind.On(c.Clients), record: &recorder{}}
	mg := &servingv1alpha1.Route{ObjectMeta: metav1.ObjectMeta{Name: "hello", Namespace: "apps"}}
	mg.Spec.ForProvider.Spec = &servingv1.RouteSpec{Traffic: []servingv1.TrafficTarget{{ConfigurationName: "hello", Percent: ptr(int64(100))}}}
	if _, err := e.Create(context.Background(), mg); err == nil || !strings.Contains(err.Error(), `belongs to the Knative Service "hello"`) {
		t.Fatalf("Create = %v", err)
	}
}

func servingConfigMR(data map[string]string) *servingv1alpha1.ServingConfig {
	mg := &servingv1alpha1.ServingConfig{ObjectMeta: metav1.ObjectMeta{Name: "autoscaler", Namespace: "apps"}}
	mg.Spec.ForProvider.Name, mg.Spec.ForProvider.Data = "autoscaler", data
	return mg
}

func TestServingConfigExternal(t *testing.T) {
	ctx := context.Background()
	c := kubetest.New(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "config-autoscaler", Namespace: serving.Namespace}})
	e := &servingConfigExternal{config: &serving.Config{Clients: c.Clients, Name: "autoscaler"}}
	mg := servingConfigMR(map[string]string{"stable-window": "90s"})
	if obs, err := e.Observe(ctx, mg); err != nil || obs.ResourceExists {
		t.Fatalf("Observe before Create = %+v, %v", obs, err)
	}
	if _, err := e.Create(ctx, mg); err != nil {
		t.Fatal(err)
	}
	meta.SetExternalCreateSucceeded(mg, time.Now()) // as crossplane-runtime records it
	if obs, err := e.Observe(ctx, mg); err != nil || !obs.ResourceExists || !obs.ResourceUpToDate || mg.Status.AtProvider.Data["stable-window"] != "90s" {
		t.Fatalf("Observe after Create = %+v, %v (atProvider %v)", obs, err, mg.Status.AtProvider.Data)
	}
	// kubectl takes the key: drift, and Update takes it back.
	cms := c.Kubernetes.CoreV1().ConfigMaps(serving.Namespace)
	if _, err := cms.Apply(ctx, applycorev1.ConfigMap("config-autoscaler", serving.Namespace).WithData(map[string]string{"stable-window": "60s"}),
		metav1.ApplyOptions{FieldManager: "kubectl", Force: true}); err != nil {
		t.Fatal(err)
	}
	if obs, err := e.Observe(ctx, mg); err != nil || !obs.ResourceExists || obs.ResourceUpToDate || obs.Diff != `stable-window is "60s", want "90s"` {
		t.Fatalf("Observe after kubectl = %+v, %v", obs, err)
	}
	if _, err := e.Update(ctx, mg); err != nil {
		t.Fatal(err)
	}
	// A key dropped from data is removed.
	mg.Spec.ForProvider.Data = map[string]string{"max-scale": "3"}
	if obs, _ := e.Observe(ctx, mg); obs.ResourceUpToDate || !strings.Contains(obs.Diff, "stable-window is set, want it removed") {
		t.Fatalf("Observe with a key dropped = %+v", obs)
	}
	if _, err := e.Update(ctx, mg); err != nil {
		t.Fatal(err)
	}
	// Refused before anything is written.
	for data, want := range map[string]string{
		"_example":      "_example is Knative's documentation of the map and is never written",
		"stable-window": "Knative rejects these config-autoscaler values",
	} {
		bad := servingConfigMR(map[string]string{data: "not-a-duration"})
		if _, err := e.Update(ctx, bad); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Update with %s = %v, want %q", data, err, want)
		}
	}
	if _, err := e.Delete(ctx, deletingMR(mg)); err != nil {
		t.Fatal(err)
	}
	if obs, err := e.Observe(ctx, mg); err != nil || obs.ResourceExists {
		t.Fatalf("Observe after Delete = %+v, %v", obs, err)
	}
	// Without the runtime the read fails, naming the config map.
	e = &servingConfigExternal{config: &serving.Config{Clients: kubetest.New().Clients, Name: "autoscaler"}}
	if _, err := e.Observe(ctx, mg); err == nil || !strings.Contains(err.Error(), "cannot read knative-serving/config-autoscaler") {
		t.Errorf("Observe without the runtime = %v", err)
	}
	if err := e.Disconnect(ctx); err != nil {
		t.Error(err)
	}
}

func TestServingRuntimeExternal(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := kubetest.New()
	c.RunControlPlane(ctx)
	e := &servingRuntimeExternal{installer: &serving.Installer{Clients: c.Clients}}
	versions := manifests.Versions()
	mg := &servingv1alpha1.ServingRuntime{ObjectMeta: metav1.ObjectMeta{Name: "serving"}}
	mg.Spec.ForProvider.Version = versions[len(versions)-2]
	if obs, err := e.Observe(ctx, mg); err != nil || obs.ResourceExists {
		t.Fatalf("Observe before Create = %+v, %v", obs, err)
	}
	if _, err := e.Create(ctx, mg); err != nil {
		t.Fatal(err)
	}
	// Not waited for: Creating until every deployment is available.
	deadline := time.Now().Add(20 * time.Second)
	for {
		obs, err := e.Observe(ctx, mg)
		if err != nil {
			t.Fatal(err)
		}
		if mg.GetCondition(xpv2.TypeReady).Equal(xpv2.Available()) {
			if !obs.ResourceUpToDate || mg.Status.AtProvider.InstalledVersion != mg.Spec.ForProvider.Version || mg.Status.AtProvider.IngressClass != serving.IngressClass("kourier") {
				t.Fatalf("Observe once Ready = %+v, atProvider %+v", obs, mg.Status.AtProvider)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not Ready: %+v", mg.GetCondition(xpv2.TypeReady))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Upgrades one minor version at a time; a downgrade is refused.
	mg.Spec.ForProvider.Version = versions[len(versions)-1]
	if obs, _ := e.Observe(ctx, mg); obs.ResourceUpToDate {
		t.Fatal("a new version is up to date")
	}
	if _, err := e.Update(ctx, mg); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Observe(ctx, mg); err != nil || mg.Status.AtProvider.InstalledVersion != versions[len(versions)-1] {
		t.Fatalf("after the upgrade: %q, %v", mg.Status.AtProvider.InstalledVersion, err)
	}
	mg.Spec.ForProvider.Version = versions[0]
	if _, err := e.Update(ctx, mg); err == nil || !strings.Contains(err.Error(), "downgrade") {
		t.Errorf("Update to %s = %v, want a refused downgrade", versions[0], err)
	}
	mg.Spec.ForProvider.Version = versions[len(versions)-1]
	// Deleting refuses while Knative objects exist, naming the field that allows it.
	c.Put(serving.ServicesGVR, knativeService("example.com/app-a", 1, 1, "True", "", ""))
	if _, err := e.Delete(ctx, mg); err == nil || !strings.Contains(err.Error(), "spec.forProvider.deleteKnativeObjects") || strings.Contains(err.Error(), "delete_knative_objects") {
		t.Fatalf("Delete with a Service = %v", err)
	}
	mg.Spec.ForProvider.DeleteKnativeObjects = true
	if _, err := e.Delete(ctx, deletingMR(mg)); err != nil {
		t.Fatal(err)
	}
	if obs, err := e.Observe(ctx, mg); err != nil || obs.ResourceExists {
		t.Fatalf("Observe after Delete = %+v, %v", obs, err)
	}
	if err := e.Disconnect(ctx); err != nil {
		t.Error(err)
	}
}

func TestRuntimeSpecDefaults(t *testing.T) {
	mg := &servingv1alpha1.ServingRuntime{}
	mg.Spec.ForProvider.HighAvailability = &servingv1alpha1.HighAvailability{Replicas: 3}
	mg.Spec.ForProvider.Registry = &servingv1alpha1.Registry{Default: "mirror.example.com/${NAME}"}
	spec := runtimeSpec(mg)
	if spec.Version != manifests.DefaultVersion || spec.Ingress != manifests.DefaultIngress || spec.Replicas != 3 || spec.Registry.Default != "mirror.example.com/${NAME}" {
		t.Errorf("runtimeSpec = %+v", spec)
	}
}

// A ServingRuntime with a networking layer the user brings does what
// knative_serving does with one: the engine's Spec, its proxy Services
// checked before anything is written, config-network naming its class.
func TestServingRuntimeExternalIngress(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const class = "traefik.ingress.networking.knative.dev"
	c := kubetest.New()
	c.RunControlPlane(ctx)
	e := &servingRuntimeExternal{installer: &serving.Installer{Clients: c.Clients}}
	mg := &servingv1alpha1.ServingRuntime{ObjectMeta: metav1.ObjectMeta{Name: "serving"}}
	mg.Spec.ForProvider.Version = manifests.DefaultVersion
	mg.Spec.ForProvider.Ingress = serving.External
	mg.Spec.ForProvider.ExternalIngress = &servingv1alpha1.ExternalIngress{Class: class, Services: []string{"traefik/traefik"}}
	if spec := runtimeSpec(mg); spec.IngressClass() != class || len(spec.External.Services) != 1 || spec.External.Services[0] != "traefik/traefik" {
		t.Fatalf("runtimeSpec = %+v", spec)
	}
	_, err := e.Create(ctx, mg)
	var missing *serving.MissingPrerequisitesError
	if !errors.As(err, &missing) || !strings.Contains(err.Error(), "Service traefik/traefik (a proxy Service of the layer)") || !strings.Contains(err.Error(), "Nothing was changed.") {
		t.Fatalf("Create without the layer's Service = %v", err)
	}
	if c.Writes() != 0 {
		t.Fatalf("%d writes before the refusal", c.Writes())
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "traefik", Name: "traefik"}}
	if _, err := c.Kubernetes.CoreV1().Services("traefik").Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Create(ctx, mg); err != nil {
		t.Fatal(err)
	}
	obs, err := e.Observe(ctx, mg)
	if err != nil || !obs.ResourceExists || !obs.ResourceUpToDate || mg.Status.AtProvider.IngressClass != class {
		t.Fatalf("Observe = %+v, %v; atProvider %+v", obs, err, mg.Status.AtProvider)
	}
	if c.Get(serving.DeploymentsGVR, serving.Namespace, serving.Layers["kourier"].Controller) != nil {
		t.Error("Kourier was installed with an external layer")
	}
}

// An Observe-only managed resource writes nothing, so its object lacks the
// label the target watches select, and that is no drift; one that writes
// labels its object.
func TestManagedLabelOnlyOnWrites(t *testing.T) {
	c := kubetest.New()
	live := knativeService("example.com/app-a", 1, 1, "True", "", "")
	live.SetLabels(map[string]string{"team": "a"})
	c.Put(serving.ServicesGVR, live)
	e, _ := serviceExternal(c)
	observeOnly := serviceMR("example.com/app-a")
	observeOnly.SetManagementPolicies(xpv2.ManagementPolicies{xpv2.ManagementActionObserve})
	if obs, err := e.Observe(context.Background(), observeOnly); err != nil || !obs.ResourceUpToDate {
		t.Fatalf("Observe-only: %+v, %v", obs, err)
	}
	if obs, err := e.Observe(context.Background(), serviceMR("example.com/app-a")); err != nil || obs.ResourceUpToDate || !strings.Contains(obs.Diff, ManagedLabel) {
		t.Fatalf("a managed resource that writes, on an unlabelled object: %+v, %v", obs, err)
	}
	if _, err := e.Update(context.Background(), serviceMR("example.com/app-a")); err != nil {
		t.Fatal(err)
	}
	if got := c.Get(serving.ServicesGVR, "apps", "hello").GetLabels()[ManagedLabel]; got != FieldManager {
		t.Errorf("label %s = %q after an update", ManagedLabel, got)
	}
}
