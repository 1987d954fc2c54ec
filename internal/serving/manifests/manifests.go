// Package manifests embeds the Knative Serving and networking layer release
// manifests the provider installs, so installs work air-gapped. The files under data/
// are copied from the knative.dev/operator module by `go generate`; the
// upstream license is in data/LICENSE.
package manifests

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/Masterminds/semver/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

//go:generate go run ./gen

//go:embed data
var files embed.FS

// DefaultVersion is installed when no version is given.
const DefaultVersion = "1.23.0"

// Versions lists the embedded Knative Serving versions, oldest first.
func Versions() []string {
	entries, err := files.ReadDir("data")
	if err != nil {
		panic(err)
	}
	var vs []*semver.Version
	for _, e := range entries {
		if v, err := semver.StrictNewVersion(e.Name()); e.IsDir() && err == nil {
			vs = append(vs, v)
		}
	}
	sort.Sort(semver.Collection(vs))
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.String()
	}
	return out
}

// Supported says whether version is embedded.
func Supported(version string) bool { return slices.Contains(Versions(), version) }

// DefaultIngress is installed when no ingress is given.
const DefaultIngress = "kourier"

// Ingresses lists the networking layers that can be installed.
func Ingresses() []string { return []string{"kourier", "istio", "contour", "gateway-api"} }

// Load returns the objects of Knative Serving core at version followed by those
// of the ingress, in manifest order. Each call returns fresh copies.
func Load(version, ingress string) ([]*unstructured.Unstructured, error) {
	core, err := LoadCore(version)
	if err != nil {
		return nil, err
	}
	layer, err := LoadIngress(version, ingress)
	return append(core, layer...), err
}

// LoadCore returns the objects of Knative Serving core at version.
func LoadCore(version string) ([]*unstructured.Unstructured, error) {
	if !Supported(version) {
		return nil, fmt.Errorf("Knative Serving %s is not embedded; supported versions: %v", version, Versions())
	}
	return load(version, "serving-core.yaml")
}

// LoadIngress returns the objects of a networking layer at Knative Serving's version.
func LoadIngress(version, ingress string) ([]*unstructured.Unstructured, error) {
	if !Supported(version) {
		return nil, fmt.Errorf("Knative Serving %s is not embedded; supported versions: %v", version, Versions())
	}
	if !slices.Contains(Ingresses(), ingress) {
		return nil, fmt.Errorf("ingress %q is not supported; supported: %v", ingress, Ingresses())
	}
	return load(version, ingress+".yaml")
}

func load(version, name string) ([]*unstructured.Unstructured, error) {
	data, err := files.ReadFile("data/" + version + "/" + name)
	if err != nil {
		return nil, err
	}
	objs, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s/%s: %w", version, name, err)
	}
	return objs, nil
}

// Parse decodes a multi-document YAML (or JSON) manifest into its objects,
// empty documents left out.
func Parse(data []byte) ([]*unstructured.Unstructured, error) {
	decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		obj := &unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return objs, nil
		} else if err != nil {
			return nil, err
		}
		if len(obj.Object) == 0 {
			continue
		}
		objs = append(objs, obj)
	}
}
