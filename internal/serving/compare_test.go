package serving

import "testing"

func TestFirstDifference(t *testing.T) {
	for _, tc := range []struct {
		name      string
		want, got any
		diff      string
	}{
		{"extra live fields are not drift", map[string]any{"a": "1"}, map[string]any{"a": "1", "b": "2"}, ""},
		{"changed scalar", map[string]any{"a": "1"}, map[string]any{"a": "2"}, `a is "2", want "1"`},
		{"missing field", map[string]any{"a": map[string]any{"b": "x"}}, map[string]any{}, `a is missing (want {"b":"x"})`},
		{"empty wanted value dropped by the API server", map[string]any{"value": ""}, map[string]any{}, ""},
		{"numbers of different Go types", map[string]any{"n": int64(3)}, map[string]any{"n": float64(3)}, ""},
		{"quantities compare by value", map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "1000m"}}},
			map[string]any{"resources": map[string]any{"limits": map[string]any{"cpu": "1"}}}, ""},
		{"quantity strings elsewhere compare as text", map[string]any{"x": "1000m"}, map[string]any{"x": "1"}, `x is "1", want "1000m"`},
		{"named lists match by name, not position",
			map[string]any{"c": []any{map[string]any{"name": "a", "v": "1"}, map[string]any{"name": "b", "v": "2"}}},
			map[string]any{"c": []any{map[string]any{"name": "b", "v": "2"}, map[string]any{"name": "a", "v": "1", "extra": true}}}, ""},
		{"named list item changed", map[string]any{"c": []any{map[string]any{"name": "a", "image": "x"}}},
			map[string]any{"c": []any{map[string]any{"name": "a", "image": "y"}}}, `c[name=a].image is "y", want "x"`},
		{"plain lists compare by position", map[string]any{"l": []any{"a", "b"}}, map[string]any{"l": []any{"b", "a"}}, `l[0] is "b", want "a"`},
		{"list length", map[string]any{"l": []any{"a"}}, map[string]any{"l": []any{"a", "b"}}, `l is ["a","b"], want ["a"]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := firstDifference(tc.want, tc.got, ""); got != tc.diff {
				t.Errorf("got %q, want %q", got, tc.diff)
			}
		})
	}
}
