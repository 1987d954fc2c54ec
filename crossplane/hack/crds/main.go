// Command crds relaxes what the CRDs generated from Kubernetes' types require
// but Knative's webhook fills in, so that a Service written as Knative
// documents it is accepted: a container's name (Knative names a lone
// container user-container; the containers list is then atomic rather than
// keyed by name) and the port of readiness and liveness probes (Knative uses
// the serving port). It rewrites the CRDs in the directory it
// is given; make generate runs it after controller-gen.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: crds DIR")
		os.Exit(2)
	}
	files, err := filepath.Glob(filepath.Join(os.Args[1], "*.yaml"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no CRDs in %s", os.Args[1])
	}
	for _, f := range files {
		if err == nil {
			err = relax(f)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crds:", err)
		os.Exit(1)
	}
}

func relax(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.Unmarshal(data, crd); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	for i := range crd.Spec.Versions {
		if v := crd.Spec.Versions[i].Schema; v != nil && v.OpenAPIV3Schema != nil {
			walk(v.OpenAPIV3Schema, "")
		}
	}
	// Written as controller-gen writes it: without the status (and the empty
	// creation timestamp) a typed CRD brings.
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
	if err != nil {
		return err
	}
	delete(obj, "status")
	delete(obj["metadata"].(map[string]any), "creationTimestamp")
	out, err := yaml.Marshal(obj)
	if err != nil {
		return err
	}
	return os.WriteFile(file, append([]byte("---\n"), out...), 0o644)
}

// walk drops the requirements Knative does not have below s (whose field
// name is name).
func walk(s *apiextensionsv1.JSONSchemaProps, name string) {
	switch name {
	case "containers", "initContainers":
		if s.Items != nil && s.Items.Schema != nil {
			drop(s.Items.Schema, "name")
		}
		// A list keyed by name needs names; the managed resource owns its
		// containers whole anyway.
		if s.XListType != nil && *s.XListType == "map" {
			atomic := "atomic"
			s.XListType, s.XListMapKeys = &atomic, nil
		}
	case "readinessProbe", "livenessProbe":
		for _, handler := range []string{"httpGet", "tcpSocket", "grpc"} {
			if h, ok := s.Properties[handler]; ok {
				drop(&h, "port")
				s.Properties[handler] = h
			}
		}
	}
	for k, p := range s.Properties {
		walk(&p, k)
		s.Properties[k] = p
	}
	if s.Items != nil && s.Items.Schema != nil {
		walk(s.Items.Schema, name)
	}
}

func drop(s *apiextensionsv1.JSONSchemaProps, field string) {
	s.Required = slices.DeleteFunc(s.Required, func(r string) bool { return r == field })
}
