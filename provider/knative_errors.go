package provider

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"knative.dev/pkg/apis"
	knserving "knative.dev/serving/pkg/apis/serving"
)

// Knative's validation errors (apis.FieldError) name fields of the Knative
// object: spec.template.spec.containers[0].ports,
// metadata.annotations.serving.knative.dev/rollout-duration. knativeFields
// maps them back to the attributes that set those fields, so Terraform
// points at the line of configuration at fault rather than at the block.

// knativeFields is one resource type's map from Knative's field paths to its
// attributes. Attribute names are the Kubernetes field names in snake_case;
// the exceptions are the label and annotation keys other attributes set.
type knativeFields struct {
	// metadata maps "labels/KEY" or "annotations/KEY" of the object to the
	// attribute that sets it (cluster_local sets the visibility label).
	metadata map[string]path.Path
	// templateMetadata is the same for spec.template.metadata (scaling).
	templateMetadata map[string]path.Path
}

var (
	serviceFields = knativeFields{
		metadata: map[string]path.Path{
			"labels/" + visibilityLabel:                   path.Root("cluster_local"),
			"annotations/" + knserving.RolloutDurationKey: path.Root("rollout_duration"),
		},
		templateMetadata: func() map[string]path.Path {
			m := map[string]path.Path{}
			for _, k := range scalingKeys {
				m["annotations/"+k.annotation] = path.Root("template").AtName("scaling").AtName(k.attr)
			}
			return m
		}(),
	}
	routeFields         = knativeFields{metadata: map[string]path.Path{"labels/" + visibilityLabel: path.Root("cluster_local")}}
	domainMappingFields = knativeFields{}
)

// candidates are the attributes that may set the field at a Knative path,
// most specific first.
func (k knativeFields) candidates(field string) []path.Path {
	if rest, ok := strings.CutPrefix(field, "spec.template.metadata."); ok {
		return metadataCandidates(rest, path.Root("template"), k.templateMetadata)
	}
	if rest, ok := strings.CutPrefix(field, "metadata."); ok {
		return metadataCandidates(rest, path.Empty(), k.metadata)
	}
	for _, prefix := range []string{"spec.template.spec.", "spec.template."} {
		if rest, ok := strings.CutPrefix(field, prefix); ok {
			return []path.Path{attributePath(path.Root("template"), rest)}
		}
	}
	if rest, ok := strings.CutPrefix(field, "spec."); ok {
		return []path.Path{attributePath(path.Empty(), rest)}
	}
	return nil
}

func metadataCandidates(rest string, base path.Path, special map[string]path.Path) []path.Path {
	for _, m := range []string{"labels", "annotations"} {
		if key, ok := strings.CutPrefix(rest, m+"."); ok {
			var out []path.Path
			if p, ok := special[m+"/"+key]; ok {
				out = append(out, p)
			}
			return append(out, base.AtName(m).AtMapKey(key))
		}
	}
	return []path.Path{attributePath(base, rest)} // name, namespace
}

// attributePath is the attribute path of a Kubernetes field path under base:
// containers[0].readinessProbe.httpGet -> containers[0].readiness_probe.http_get.
func attributePath(base path.Path, field string) path.Path {
	p := base
	mapKey := false
	for _, segment := range strings.Split(field, ".") {
		name, indexes, _ := strings.Cut(segment, "[")
		switch {
		case mapKey:
			p, mapKey = p.AtMapKey(name), false
		case name != "":
			p = p.AtName(snakeCase(name))
			mapKey = mapAttributes[name]
		}
		for _, index := range strings.Split(indexes, "[") {
			index = strings.TrimSuffix(index, "]")
			if index == "" {
				continue
			}
			if i, err := strconv.Atoi(index); err == nil {
				p = p.AtListIndex(i)
			} else {
				p = p.AtMapKey(index)
			}
		}
	}
	return p
}

// mapAttributes are the map-valued fields of a pod spec whose keys Knative's
// and apimachinery's paths write as a further segment (limits.cpu).
var mapAttributes = map[string]bool{"limits": true, "requests": true, "nodeSelector": true}

// snakeCase is kubeName's inverse: readOnly -> read_only.
func snakeCase(name string) string {
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('_')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// addKnativeErrors reports err, Knative's verdict on the object config
// describes, at the attributes its field paths name: the nearest one the
// configuration sets, or the resource when none does.
func addKnativeErrors(ctx context.Context, diags *diag.Diagnostics, config tfsdk.Config, fields knativeFields, summary, lead string, err error) {
	var fe *apis.FieldError
	if !errors.As(err, &fe) {
		diags.AddError(summary, lead+": "+err.Error())
		return
	}
	for _, e := range fe.WrappedErrors() {
		message := e.Message
		if e.Details != "" {
			message += ": " + e.Details
		}
		if len(e.Paths) == 0 {
			diags.AddError(summary, lead+": "+message)
		}
		for _, field := range e.Paths {
			at, ok := setAttribute(ctx, config, fields.candidates(field))
			if !ok {
				diags.AddError(summary, fmt.Sprintf("%s: %s (Knative's field %s)", lead, message, field))
				continue
			}
			// Terraform shows the line of a top-level attribute but does not
			// look into the object and list expressions of nested ones (it
			// may even show another attribute of the same name): name the
			// nested attribute in the text, and point at its top-level one.
			detail := fmt.Sprintf("%s: %s: %s (Knative's field %s)", lead, at, message, field)
			diags.AddAttributeError(path.Root(topLevel(at)), summary, detail)
		}
	}
}

// setAttribute is the first candidate, or its nearest parent, that the
// configuration sets.
func setAttribute(ctx context.Context, config tfsdk.Config, candidates []path.Path) (path.Path, bool) {
	for _, candidate := range candidates {
		for p := candidate; len(p.Steps()) > 0; p = p.ParentPath() {
			var v attr.Value
			if d := config.GetAttribute(ctx, p, &v); !d.HasError() && v != nil && !v.IsNull() {
				return p, true
			}
		}
	}
	return path.Empty(), false
}

func topLevel(p path.Path) string {
	return p.Steps()[0].(path.PathStepAttributeName).String()
}
