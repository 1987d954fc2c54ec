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

// quantityEqual is EqualQuantities of two values read from objects.
func quantityEqual(a, b any) bool {
	sa, okA := a.(string)
	sb, okB := b.(string)
	return okA && okB && EqualQuantities(sa, sb)
}

// EqualQuantities compares Kubernetes resource quantities by value: the API
// server stores "1000m" as "1", and both mean the same.
func EqualQuantities(a, b string) bool {
	qa, errA := resource.ParseQuantity(a)
	qb, errB := resource.ParseQuantity(b)
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

// Project returns live reduced to the shape of want: the fields the user set,
// with their live values. Fields Knative's webhook or controllers add
// (defaults, system annotations) are dropped, so they are never a diff;
// fields the user set that changed on the cluster show as drift.
func Project(want, live any) any {
	switch w := want.(type) {
	case map[string]any:
		l, ok := live.(map[string]any)
		if !ok {
			return nil
		}
		out := map[string]any{}
		for k, wv := range w {
			if lv, ok := l[k]; ok {
				out[k] = Project(wv, lv)
			}
		}
		return out
	case []any:
		l, ok := live.([]any)
		if !ok {
			return nil
		}
		out := make([]any, len(l))
		for i, lv := range l {
			shape := any(nil)
			if len(w) > 0 {
				shape = w[min(i, len(w)-1)] // extra live items take the shape of the last wanted one
			}
			if shape == nil {
				out[i] = lv
			} else {
				out[i] = Project(shape, lv)
			}
		}
		return out
	default:
		return live
	}
}
