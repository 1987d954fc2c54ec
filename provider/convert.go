package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Helpers between framework values and unstructured Kubernetes objects: put*
// writes a value only when the user set it; *From reads null when absent.

type timeoutsValue = timeouts.Value

func known(v attr.Value) bool { return !v.IsNull() && !v.IsUnknown() }

func putString(m map[string]any, key string, v types.String) {
	if known(v) {
		m[key] = v.ValueString()
	}
}

func putInt(m map[string]any, key string, v types.Int64) {
	if known(v) {
		m[key] = v.ValueInt64()
	}
}

func putBool(m map[string]any, key string, v types.Bool) {
	if known(v) {
		m[key] = v.ValueBool()
	}
}

func putMap(m map[string]any, key string, v map[string]any) {
	if v != nil {
		m[key] = v
	}
}

// stringMap converts a map attribute; nil when null or unknown.
func stringMap(ctx context.Context, v types.Map) map[string]any {
	if !known(v) {
		return nil
	}
	var items map[string]string
	v.ElementsAs(ctx, &items, false)
	out := make(map[string]any, len(items))
	for k, s := range items {
		out[k] = s
	}
	return out
}

func mapOf(m map[string]any, key string) map[string]string {
	out := map[string]string{}
	if inner, ok := m[key].(map[string]any); ok {
		for k, v := range inner {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
	}
	return out
}

func stringFrom(m map[string]any, key string) types.String {
	if s, ok := m[key].(string); ok {
		return types.StringValue(s)
	}
	return types.StringNull()
}

func boolFrom(m map[string]any, key string) types.Bool {
	if b, ok := m[key].(bool); ok {
		return types.BoolValue(b)
	}
	return types.BoolNull()
}

func intFrom(m map[string]any, key string) types.Int64 {
	switch n := m[key].(type) {
	case int64:
		return types.Int64Value(n)
	case float64:
		return types.Int64Value(int64(n))
	case int:
		return types.Int64Value(int64(n))
	}
	return types.Int64Null()
}

// keepNullIfEmpty returns m as a map value, or null when m is empty and the
// attribute was null: an unset map stays unset.
func keepNullIfEmpty(prior types.Map, m map[string]string) types.Map {
	if len(m) == 0 && prior.IsNull() {
		return types.MapNull(types.StringType)
	}
	values := make(map[string]attr.Value, len(m))
	for k, v := range m {
		values[k] = types.StringValue(v)
	}
	return types.MapValueMust(types.StringType, values)
}
