package provider

import (
	"context"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-framework/types/basetypes"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/tf-knative/terraform-provider-knative/internal/serving"
)

// The pod-spec parts of knative_service (containers, volumes, tolerations,
// ...) mirror the Kubernetes API attribute for attribute, in Terraform's
// snake_case. toKube and fromKube convert them generically, so a new
// Kubernetes field needs a schema attribute and nothing else.

// kubeName is the Kubernetes field name of a schema attribute: read_only -> readOnly.
func kubeName(attribute string) string {
	parts := strings.Split(attribute, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}

// quantityAttributes hold Kubernetes quantities, which the API server stores
// canonically ("1000m" becomes "1").
var quantityAttributes = map[string]bool{"limits": true, "requests": true, "size_limit": true}

// toKube converts a value to its Kubernetes JSON form. Null and unknown values
// are left out (ok is false), so only what the user set is applied.
func toKube(v attr.Value) (out any, ok bool) {
	if !known(v) {
		return nil, false
	}
	switch v := v.(type) {
	case types.String:
		return v.ValueString(), true
	case types.Int64:
		return v.ValueInt64(), true
	case types.Bool:
		return v.ValueBool(), true
	case types.List:
		items := make([]any, 0, len(v.Elements()))
		for _, e := range v.Elements() {
			if item, ok := toKube(e); ok {
				items = append(items, item)
			}
		}
		return items, true
	case types.Map:
		m := make(map[string]any, len(v.Elements()))
		for k, e := range v.Elements() {
			if item, ok := toKube(e); ok {
				m[k] = item
			}
		}
		return m, true
	case types.Object:
		m := make(map[string]any, len(v.Attributes()))
		for name, e := range v.Attributes() {
			if item, ok := toKube(e); ok {
				m[kubeName(name)] = item
			}
		}
		return m, true
	}
	return nil, false
}

// putKube sets key in m to the Kubernetes form of v, when the user set v.
func putKube(m map[string]any, key string, v attr.Value) {
	if item, ok := toKube(v); ok {
		m[key] = item
	}
}

// fromKube converts live, a field of a Kubernetes object (nil when absent),
// to a value of typ. prior is what state held, and settles what Kubernetes
// cannot tell apart: a zero value the user set and the API server omitted
// (omitempty) reads back as set, and an equal quantity keeps its spelling.
func fromKube(typ attr.Type, live any, prior attr.Value) attr.Value {
	return fromKubeValue(typ, live, prior, false)
}

func fromKubeValue(typ attr.Type, live any, prior attr.Value, quantity bool) attr.Value {
	if live == nil {
		if prior != nil && known(prior) && isZero(prior) {
			return prior
		}
		return nullOf(typ)
	}
	switch t := typ.(type) {
	case basetypes.StringType:
		s, ok := live.(string)
		if !ok {
			return nullOf(typ)
		}
		if p, ok := prior.(types.String); ok && quantity && known(p) && serving.EqualQuantities(p.ValueString(), s) {
			return p
		}
		return types.StringValue(s)
	case basetypes.Int64Type:
		return intFrom(map[string]any{"v": live}, "v")
	case basetypes.BoolType:
		return boolFrom(map[string]any{"v": live}, "v")
	case basetypes.ListType:
		items, _ := live.([]any)
		var priorItems []attr.Value
		if p, ok := prior.(types.List); ok {
			priorItems = p.Elements()
		}
		values := make([]attr.Value, len(items))
		for i, item := range items {
			values[i] = fromKubeValue(t.ElemType, item, at(priorItems, i), quantity)
		}
		return types.ListValueMust(t.ElemType, values)
	case basetypes.MapType:
		items, _ := live.(map[string]any)
		var priorItems map[string]attr.Value
		if p, ok := prior.(types.Map); ok {
			priorItems = p.Elements()
		}
		values := make(map[string]attr.Value, len(items))
		for k, item := range items {
			values[k] = fromKubeValue(t.ElemType, item, priorItems[k], quantity)
		}
		return types.MapValueMust(t.ElemType, values)
	case basetypes.ObjectType:
		fields, _ := live.(map[string]any)
		var priorAttrs map[string]attr.Value
		if p, ok := prior.(types.Object); ok {
			priorAttrs = p.Attributes()
		}
		values := make(map[string]attr.Value, len(t.AttrTypes))
		for name, at := range t.AttrTypes {
			values[name] = fromKubeValue(at, fields[kubeName(name)], priorAttrs[name], quantityAttributes[name])
		}
		return types.ObjectValueMust(t.AttrTypes, values)
	}
	return nullOf(typ)
}

func at(items []attr.Value, i int) attr.Value {
	if i < len(items) {
		return items[i]
	}
	return nil
}

// nullOf is the null value of typ.
func nullOf(typ attr.Type) attr.Value {
	ctx := context.Background()
	v, _ := typ.ValueFromTerraform(ctx, tftypes.NewValue(typ.TerraformType(ctx), nil))
	return v
}

// isZero reports whether v is a value Kubernetes omits when empty.
func isZero(v attr.Value) bool {
	switch v := v.(type) {
	case types.String:
		return v.ValueString() == ""
	case types.Int64:
		return v.ValueInt64() == 0
	case types.Bool:
		return !v.ValueBool()
	case types.List:
		return len(v.Elements()) == 0
	case types.Map:
		return len(v.Elements()) == 0
	}
	return false
}

// parseInt64 reads an integer an annotation holds; null when it holds none.
func parseInt64(s string) types.Int64 {
	i, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return types.Int64Null()
	}
	return types.Int64Value(i)
}
