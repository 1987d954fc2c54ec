package serving

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// firstDifference compares what we apply (want) with what the cluster has
// (got) the way server-side apply owns fields: only the fields in want count.
// Fields the API server or Knative add (defaults, status, caBundle) are not
// drift. Lists of objects with a "name" are matched by name, as Kubernetes
// merges them. It returns "" when got contains want, else a readable path and
// the two values.
func firstDifference(want, got any, path string) string {
	if got == nil && isZero(want) {
		return "" // the API server drops empty values (omitempty)
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return describe(path, want, got)
		}
		for _, k := range sortedKeys(w) {
			if d := firstDifference(w[k], g[k], path+"."+k); d != "" {
				return d
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok {
			return describe(path, want, got)
		}
		if byName, ok := namedItems(g); ok && allNamed(w) {
			for _, item := range w {
				name := item.(map[string]any)["name"].(string)
				if d := firstDifference(item, byName[name], fmt.Sprintf("%s[name=%s]", path, name)); d != "" {
					return d
				}
			}
			return ""
		}
		if len(w) != len(g) {
			return describe(path, want, got)
		}
		for i := range w {
			if d := firstDifference(w[i], g[i], fmt.Sprintf("%s[%d]", path, i)); d != "" {
				return d
			}
		}
		return ""
	default:
		if scalarEqual(want, got) || (strings.Contains(path, ".resources.") && quantityEqual(want, got)) {
			return ""
		}
		return describe(path, want, got)
	}
}

// scalarEqual treats numbers alike whatever their Go type (YAML gives int64,
// JSON from the API float64 or int64).
func scalarEqual(a, b any) bool {
	if reflect.DeepEqual(a, b) {
		return true
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

func isZero(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case string:
		return v == ""
	case bool:
		return !v
	case int64:
		return v == 0
	case float64:
		return v == 0
	case map[string]any:
		return len(v) == 0
	case []any:
		return len(v) == 0
	}
	return false
}

// quantityEqual compares resource quantities by value: the API server stores
// "1000m" as "1".
func quantityEqual(a, b any) bool {
	sa, okA := a.(string)
	sb, okB := b.(string)
	if !okA || !okB {
		return false
	}
	qa, errA := resource.ParseQuantity(sa)
	qb, errB := resource.ParseQuantity(sb)
	return errA == nil && errB == nil && qa.Cmp(qb) == 0
}

func describe(path string, want, got any) string {
	if got == nil {
		return fmt.Sprintf("%s is missing (want %s)", strings.TrimPrefix(path, "."), short(want))
	}
	return fmt.Sprintf("%s is %s, want %s", strings.TrimPrefix(path, "."), short(got), short(want))
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}

func namedItems(items []any) (map[string]any, bool) {
	out := make(map[string]any, len(items))
	for _, item := range items {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, false
		}
		name, ok := m["name"].(string)
		if !ok {
			return nil, false
		}
		out[name] = item
	}
	return out, true
}

func allNamed(items []any) bool {
	_, ok := namedItems(items)
	return ok && len(items) > 0
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // stable messages: the same first difference every time
	return keys
}
