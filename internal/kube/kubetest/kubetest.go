// Package kubetest is a cluster on fakes for the fast tests of the engine
// and the frontends: client-go's fake clientsets behind kube.Clients, with
// server-side apply and generations for Knative's kinds as an API server
// would do them, and hooks to inject the failures a real one returns. The
// same behaviour is proven against real API servers by the acceptance tests.
package kubetest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	apiextensionsfake "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/fake"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

func init() {
	// client-go's informers stream their initial list from a real API server
	// (WatchList); the fake dynamic client cannot, and does not say so, so
	// informers on it would never sync. Read once, on first use.
	os.Setenv("KUBE_FEATURE_WatchListClient", "false")
}

// FieldManager is the field manager of the clients Cluster returns.
const FieldManager = "kubetest"

// Cluster is a fake cluster: Clients talk to it, tests seed and inspect it.
type Cluster struct {
	Clients       *kube.Clients
	Dynamic       *dynamicfake.FakeDynamicClient
	Kubernetes    *kubefake.Clientset
	APIExtensions *apiextensionsfake.Clientset

	uids atomic.Int64
}

// New returns a fake cluster holding objects (unstructured, for the dynamic
// client) and typed objects (ConfigMaps, Services... for the typed clients).
func New(objects ...runtime.Object) *Cluster {
	var dynamicObjs, typedObjs []runtime.Object
	for _, o := range objects {
		if _, ok := o.(*unstructured.Unstructured); ok {
			dynamicObjs = append(dynamicObjs, o)
		} else {
			typedObjs = append(typedObjs, o)
		}
	}
	c := &Cluster{
		Dynamic:       dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds(), dynamicObjs...),
		Kubernetes:    kubefake.NewClientset(typedObjs...),
		APIExtensions: apiextensionsfake.NewClientset(),
	}
	c.Dynamic.PrependReactor("patch", "*", c.apply)
	c.Dynamic.PrependReactor("create", "*", c.stampCreate)
	c.Clients = &kube.Clients{Kubernetes: c.Kubernetes, Dynamic: c.Dynamic, APIExtensions: c.APIExtensions, FieldManager: FieldManager}
	return c
}

// Fail makes the verb on resource ("*" for any) fail with err, matched when
// match (nil: always) says so, before any other reaction.
func (c *Cluster) Fail(verb, resource string, err error, match func(clienttesting.Action) bool) {
	c.Dynamic.PrependReactor(verb, resource, func(a clienttesting.Action) (bool, runtime.Object, error) {
		if match != nil && !match(a) {
			return false, nil, nil
		}
		return true, nil, err
	})
}

// Get returns the object of gvr, or nil.
func (c *Cluster) Get(gvr schema.GroupVersionResource, namespace, name string) *unstructured.Unstructured {
	obj, err := c.Dynamic.Tracker().Get(gvr, namespace, name)
	if err != nil {
		return nil
	}
	return obj.(*unstructured.Unstructured)
}

// Put stores obj as is (status included), as a controller's write would.
func (c *Cluster) Put(gvr schema.GroupVersionResource, obj *unstructured.Unstructured) {
	tracker := c.Dynamic.Tracker()
	if _, err := tracker.Get(gvr, obj.GetNamespace(), obj.GetName()); apierrors.IsNotFound(err) {
		if err := tracker.Create(gvr, obj, obj.GetNamespace()); err != nil {
			panic(err)
		}
		return
	}
	if err := tracker.Update(gvr, obj, obj.GetNamespace()); err != nil {
		panic(err)
	}
}

// Writes counts the dynamic client's writes (create, update, patch, delete).
func (c *Cluster) Writes() int {
	n := 0
	for _, a := range c.Dynamic.Actions() {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete", "deletecollection":
			n++
		}
	}
	return n
}

// stampCreate gives a created object what an API server does: a uid, a
// resourceVersion and generation 1.
func (c *Cluster) stampCreate(a clienttesting.Action) (bool, runtime.Object, error) {
	create, ok := a.(clienttesting.CreateAction)
	if !ok {
		return false, nil, nil
	}
	if obj, ok := create.GetObject().(*unstructured.Unstructured); ok {
		c.stamp(obj, nil)
	}
	return false, nil, nil
}

func (c *Cluster) stamp(obj, previous *unstructured.Unstructured) {
	if previous == nil {
		obj.SetUID(types.UID(fmt.Sprintf("uid-%d", c.uids.Add(1))))
		obj.SetGeneration(1)
		obj.SetCreationTimestamp(metav1.Now())
		return
	}
	obj.SetUID(previous.GetUID())
	obj.SetCreationTimestamp(previous.GetCreationTimestamp())
	generation := previous.GetGeneration()
	if !reflect.DeepEqual(obj.Object["spec"], previous.Object["spec"]) {
		generation++
	}
	obj.SetGeneration(generation)
}

// apply is server-side apply as one field manager that forces sees it: the
// applied fields merged into the live object (maps merged, lists replaced),
// created when missing; with dryRun nothing is stored.
func (c *Cluster) apply(a clienttesting.Action) (bool, runtime.Object, error) {
	patch, ok := a.(clienttesting.PatchActionImpl)
	if !ok || patch.GetPatchType() != types.ApplyPatchType {
		return false, nil, nil
	}
	applied := map[string]any{}
	if err := json.Unmarshal(patch.GetPatch(), &applied); err != nil {
		return true, nil, apierrors.NewBadRequest(err.Error())
	}
	gvr, namespace, name := patch.GetResource(), patch.GetNamespace(), patch.GetName()
	tracker := c.Dynamic.Tracker()
	var previous *unstructured.Unstructured
	if live, err := tracker.Get(gvr, namespace, name); err == nil {
		previous = live.(*unstructured.Unstructured)
	} else if !apierrors.IsNotFound(err) {
		return true, nil, err
	}
	obj := &unstructured.Unstructured{Object: map[string]any{}}
	if previous != nil {
		obj.Object = runtime.DeepCopyJSON(previous.Object)
	}
	merge(obj.Object, applied)
	obj.SetName(name)
	obj.SetNamespace(namespace)
	c.stamp(obj, previous)
	if len(patch.PatchOptions.DryRun) > 0 {
		return true, obj, nil
	}
	var err error
	if previous == nil {
		err = tracker.Create(gvr, obj, namespace)
	} else {
		err = tracker.Update(gvr, obj, namespace)
	}
	if err != nil {
		return true, nil, err
	}
	stored, err := tracker.Get(gvr, namespace, name)
	return true, stored, err
}

// merge sets into dst what src sets: maps merged key by key, anything else
// (lists, scalars) replaced.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if sv, ok := v.(map[string]any); ok {
			if dv, ok := dst[k].(map[string]any); ok {
				merge(dv, sv)
				continue
			}
		}
		dst[k] = v
	}
}

// Knative's, the networking layers' and Kubernetes' kinds the engine lists.
var knownLists = map[schema.GroupVersionResource]string{
	{Group: "serving.knative.dev", Version: "v1", Resource: "services"}:                                 "ServiceList",
	{Group: "serving.knative.dev", Version: "v1", Resource: "routes"}:                                   "RouteList",
	{Group: "serving.knative.dev", Version: "v1", Resource: "configurations"}:                           "ConfigurationList",
	{Group: "serving.knative.dev", Version: "v1", Resource: "revisions"}:                                "RevisionList",
	{Group: "serving.knative.dev", Version: "v1beta1", Resource: "domainmappings"}:                      "DomainMappingList",
	{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "clusterdomainclaims"}:    "ClusterDomainClaimList",
	{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "ingresses"}:              "IngressList",
	{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "serverlessservices"}:     "ServerlessServiceList",
	{Group: "networking.internal.knative.dev", Version: "v1alpha1", Resource: "certificates"}:           "CertificateList",
	{Group: "autoscaling.internal.knative.dev", Version: "v1alpha1", Resource: "podautoscalers"}:        "PodAutoscalerList",
	{Group: "autoscaling.internal.knative.dev", Version: "v1alpha1", Resource: "metrics"}:               "MetricList",
	{Group: "caching.internal.knative.dev", Version: "v1alpha1", Resource: "images"}:                    "ImageList",
	{Group: "networking.istio.io", Version: "v1beta1", Resource: "gateways"}:                            "GatewayList",
	{Group: "security.istio.io", Version: "v1beta1", Resource: "peerauthentications"}:                   "PeerAuthenticationList",
	{Group: "projectcontour.io", Version: "v1", Resource: "tlscertificatedelegations"}:                  "TLSCertificateDelegationList",
	{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "gateways"}:                           "GatewayList",
	{Version: "v1", Resource: "namespaces"}:                                                             "NamespaceList",
	{Version: "v1", Resource: "serviceaccounts"}:                                                        "ServiceAccountList",
	{Version: "v1", Resource: "configmaps"}:                                                             "ConfigMapList",
	{Version: "v1", Resource: "secrets"}:                                                                "SecretList",
	{Version: "v1", Resource: "services"}:                                                               "ServiceList",
	{Group: "apps", Version: "v1", Resource: "deployments"}:                                             "DeploymentList",
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"}:                              "RoleList",
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}:                       "RoleBindingList",
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"}:                       "ClusterRoleList",
	{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"}:                "ClusterRoleBindingList",
	{Group: "autoscaling", Version: "v2", Resource: "horizontalpodautoscalers"}:                         "HorizontalPodAutoscalerList",
	{Group: "policy", Version: "v1", Resource: "poddisruptionbudgets"}:                                  "PodDisruptionBudgetList",
	{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"}: "ValidatingWebhookConfigurationList",
	{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "mutatingwebhookconfigurations"}:   "MutatingWebhookConfigurationList",
	{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}:               "CustomResourceDefinitionList",
}

func listKinds() map[schema.GroupVersionResource]string { return maps.Clone(knownLists) }

var (
	crdsGVR        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	configMapsGVR  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	webhookGVRs    = []schema.GroupVersionResource{
		{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingwebhookconfigurations"},
		{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "mutatingwebhookconfigurations"},
	}
)

// RunControlPlane does, until ctx ends, what a control plane and Knative's
// webhook do for the runtime's objects: CRDs are established (and served to
// the apiextensions client), Deployments roll out and are available,
// webhook configurations get their CA bundle, and ConfigMaps written through
// the dynamic client are read by the typed one.
func (c *Cluster) RunControlPlane(ctx context.Context) {
	go func() {
		for ctx.Err() == nil {
			c.converge()
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
}

func (c *Cluster) converge() {
	c.each(crdsGVR, func(obj *unstructured.Unstructured) bool {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, crd) == nil {
			mirror(c.APIExtensions.Tracker(), crdsGVR, crd)
		}
		if status, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions"); len(status) > 0 {
			return false
		}
		return unstructured.SetNestedSlice(obj.Object, []any{map[string]any{"type": "Established", "status": "True"}}, "status", "conditions") == nil
	})
	c.each(deploymentsGVR, func(obj *unstructured.Unstructured) bool {
		replicas, found, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas")
		if !found {
			replicas = 1
		}
		status := map[string]any{
			"observedGeneration": obj.GetGeneration(), "replicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas,
			"conditions": []any{map[string]any{"type": "Available", "status": "True"}},
		}
		if reflect.DeepEqual(obj.Object["status"], status) {
			return false
		}
		obj.Object["status"] = status
		return true
	})
	for _, gvr := range webhookGVRs {
		c.each(gvr, func(obj *unstructured.Unstructured) bool {
			webhooks, _, _ := unstructured.NestedSlice(obj.Object, "webhooks")
			changed := false
			for _, w := range webhooks {
				m, _ := w.(map[string]any)
				if bundle, _, _ := unstructured.NestedString(m, "clientConfig", "caBundle"); bundle == "" {
					_ = unstructured.SetNestedField(m, "Q0E=", "clientConfig", "caBundle")
					changed = true
				}
			}
			return changed && unstructured.SetNestedSlice(obj.Object, webhooks, "webhooks") == nil
		})
	}
	c.each(configMapsGVR, func(obj *unstructured.Unstructured) bool {
		cm := &corev1.ConfigMap{}
		if runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, cm) == nil {
			mirror(c.Kubernetes.Tracker(), configMapsGVR, cm)
		}
		return false
	})
}

// each calls update on a copy of every object of gvr and stores the copies
// it changed.
func (c *Cluster) each(gvr schema.GroupVersionResource, update func(*unstructured.Unstructured) bool) {
	list, err := c.Dynamic.Tracker().List(gvr, schema.GroupVersionKind{Group: gvr.Group, Version: gvr.Version, Kind: strings.TrimSuffix(knownLists[gvr], "List")}, "")
	if err != nil {
		return
	}
	items, _ := meta.ExtractList(list)
	for _, item := range items {
		obj := item.(*unstructured.Unstructured).DeepCopy()
		if update(obj) {
			_ = c.Dynamic.Tracker().Update(gvr, obj, obj.GetNamespace())
		}
	}
}

// mirror stores obj in another client's tracker (created or replaced).
func mirror(tracker clienttesting.ObjectTracker, gvr schema.GroupVersionResource, obj metav1.Object) {
	o := obj.(runtime.Object)
	if _, err := tracker.Get(gvr, obj.GetNamespace(), obj.GetName()); apierrors.IsNotFound(err) {
		_ = tracker.Create(gvr, o, obj.GetNamespace())
		return
	}
	_ = tracker.Update(gvr, o, obj.GetNamespace())
}
