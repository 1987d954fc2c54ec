// Package function is a Crossplane composition function that composes a
// Knative app: from an App composite resource (image, env, domain, scale
// bounds, visibility) it composes a Service managed resource and, when a
// domain is given, a DomainMapping managed resource with its claim; it reports
// the app's URL and latest ready revision on the App's status, and each
// composed resource ready when its Ready condition is True.
package function

import (
	"context"
	"fmt"
	"strconv"

	xpv2 "github.com/crossplane/crossplane/apis/v2/core/v2"
	fnv1 "github.com/crossplane/function-sdk-go/proto/v1"
	"github.com/crossplane/function-sdk-go/request"
	"github.com/crossplane/function-sdk-go/resource"
	"github.com/crossplane/function-sdk-go/resource/composed"
	"github.com/crossplane/function-sdk-go/response"
	corev1 "k8s.io/api/core/v1"
	"knative.dev/networking/pkg/apis/networking"
	"knative.dev/serving/pkg/apis/autoscaling"

	servingv1alpha1 "github.com/tf-knative/terraform-provider-knative/crossplane/apis/serving/v1alpha1"
)

// Names of the composed resources in the pipeline's desired state.
const (
	ServiceResource       resource.Name = "service"
	DomainMappingResource resource.Name = "domain-mapping"
)

// AppSpec is the App composite resource's spec, as its definition
// (examples/crossplane/app/definition.yaml) declares it.
type AppSpec struct {
	Image string `json:"image"`
	// Env are the container's environment variables, in order.
	Env []EnvVar `json:"env,omitempty"`
	// Domain, when set, is served by a DomainMapping to the app.
	Domain string `json:"domain,omitempty"`
	// MinScale and MaxScale bound the number of replicas (Knative's
	// autoscaling.knative.dev/min-scale and max-scale).
	MinScale *int64 `json:"minScale,omitempty"`
	MaxScale *int64 `json:"maxScale,omitempty"`
	// Visibility is "public" (default) or "cluster-local".
	Visibility string `json:"visibility,omitempty"`
}

// EnvVar is one environment variable of the App's container.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// Function composes Knative apps.
type Function struct {
	fnv1.UnimplementedFunctionRunnerServiceServer
}

// RunFunction composes the App of the request.
func (f *Function) RunFunction(_ context.Context, req *fnv1.RunFunctionRequest) (*fnv1.RunFunctionResponse, error) {
	rsp := response.To(req, response.DefaultTTL)
	xr, err := request.GetObservedCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, fmt.Errorf("cannot read the composite resource: %w", err))
		return rsp, nil
	}
	var app AppSpec
	if err := xr.Resource.GetValueInto("spec", &app); err != nil {
		response.Fatal(rsp, fmt.Errorf("cannot read the App's spec: %w", err))
		return rsp, nil
	}
	if app.Image == "" {
		response.Fatal(rsp, fmt.Errorf("spec.image: required"))
		return rsp, nil
	}
	observed, err := request.GetObservedComposedResources(req)
	if err != nil {
		response.Fatal(rsp, fmt.Errorf("cannot read the composed resources: %w", err))
		return rsp, nil
	}
	desired, err := request.GetDesiredComposedResources(req)
	if err != nil {
		response.Fatal(rsp, fmt.Errorf("cannot read the desired composed resources: %w", err))
		return rsp, nil
	}

	name, namespace := xr.Resource.GetName(), xr.Resource.GetNamespace()
	desired[ServiceResource] = &resource.DesiredComposed{Resource: appService(name, namespace, app), Ready: readiness(observed[ServiceResource])}
	if app.Domain != "" {
		desired[DomainMappingResource] = &resource.DesiredComposed{Resource: appDomainMapping(name, namespace, app.Domain), Ready: readiness(observed[DomainMappingResource])}
	}
	if err := response.SetDesiredComposedResources(rsp, desired); err != nil {
		response.Fatal(rsp, fmt.Errorf("cannot set the desired composed resources: %w", err))
		return rsp, nil
	}

	dxr, err := request.GetDesiredCompositeResource(req)
	if err != nil {
		response.Fatal(rsp, fmt.Errorf("cannot read the desired composite resource: %w", err))
		return rsp, nil
	}
	for path, value := range appStatus(observed, app.Domain != "") {
		if err := dxr.Resource.SetValue(path, value); err != nil {
			response.Fatal(rsp, fmt.Errorf("cannot set %s: %w", path, err))
			return rsp, nil
		}
	}
	if err := response.SetDesiredCompositeResource(rsp, dxr); err != nil {
		response.Fatal(rsp, fmt.Errorf("cannot set the desired composite resource: %w", err))
		return rsp, nil
	}
	return rsp, nil
}

// The composed resources are written as the objects a user would write,
// field by field: built from the provider's Go types, they would carry every
// zero value those types do not omit (a container's name "", hostPID false,
// an empty status), and Crossplane would apply, and so own, each of them.

// appService is the Service managed resource of an App: a Knative Service of
// the App's name in its namespace, through the default ClusterProviderConfig.
func appService(name, namespace string, app AppSpec) *composed.Unstructured {
	container := map[string]any{"image": app.Image}
	if len(app.Env) > 0 {
		env := make([]any, 0, len(app.Env))
		for _, e := range app.Env {
			env = append(env, map[string]any{"name": e.Name, "value": e.Value})
		}
		container["env"] = env
	}
	template := map[string]any{"spec": map[string]any{"containers": []any{container}}}
	annotations := map[string]any{}
	for key, v := range map[string]*int64{autoscaling.MinScaleAnnotationKey: app.MinScale, autoscaling.MaxScaleAnnotationKey: app.MaxScale} {
		if v != nil {
			annotations[key] = strconv.FormatInt(*v, 10)
		}
	}
	if len(annotations) > 0 {
		template["metadata"] = map[string]any{"annotations": annotations}
	}
	forProvider := map[string]any{"spec": map[string]any{"template": template}}
	if app.Visibility == "cluster-local" {
		forProvider["labels"] = map[string]any{networking.VisibilityLabelKey: "cluster-local"}
	}
	return managedResource(servingv1alpha1.ServiceGroupVersionKind.Kind, name, namespace, forProvider)
}

// appDomainMapping maps domain to the App's Service, claiming the domain for
// the App's namespace.
func appDomainMapping(name, namespace, domain string) *composed.Unstructured {
	return managedResource(servingv1alpha1.DomainMappingGroupVersionKind.Kind, domain, namespace,
		map[string]any{"serviceRef": map[string]any{"name": name}})
}

func managedResource(kind, name, namespace string, forProvider map[string]any) *composed.Unstructured {
	mr := composed.New()
	mr.SetAPIVersion(servingv1alpha1.SchemeGroupVersion.String())
	mr.SetKind(kind)
	mr.SetName(name)
	mr.SetNamespace(namespace)
	mr.Object["spec"] = map[string]any{"forProvider": forProvider}
	return mr
}

// readiness is a composed resource's Ready condition, as Crossplane's
// readiness of it: not ready until it exists and its Ready is True (Crossplane
// does not look at composed resources' conditions itself).
func readiness(observed resource.ObservedComposed) resource.Ready {
	if observed.Resource == nil {
		return resource.ReadyFalse
	}
	if observed.Resource.GetCondition(xpv2.TypeReady).Status == corev1.ConditionTrue {
		return resource.ReadyTrue
	}
	return resource.ReadyFalse
}

// appStatus is what the App's status shows of its composed resources: the URL
// it is reached at (its domain's once the mapping has one), its cluster-local
// address and its latest ready revision.
func appStatus(observed map[resource.Name]resource.ObservedComposed, mapped bool) map[string]any {
	status := map[string]any{}
	get := func(r resource.Name, path string) string {
		o, ok := observed[r]
		if !ok || o.Resource == nil {
			return ""
		}
		v, _ := o.Resource.GetString(path)
		return v
	}
	if url := get(ServiceResource, "status.atProvider.url"); url != "" {
		status["status.url"] = url
	}
	if mapped {
		if url := get(DomainMappingResource, "status.atProvider.url"); url != "" {
			status["status.url"] = url
		}
	}
	if address := get(ServiceResource, "status.atProvider.address.url"); address != "" {
		status["status.address"] = address
	}
	if revision := get(ServiceResource, "status.atProvider.latestReadyRevisionName"); revision != "" {
		status["status.latestReadyRevision"] = revision
	}
	return status
}
