package serving

import (
	"strings"
	"testing"
)

func TestUpgradeRefusal(t *testing.T) {
	for _, tc := range []struct {
		from, to string
		refused  string // substring of the message; empty: allowed
	}{
		{"1.22.1", "1.23.0", ""},
		{"1.22.0", "1.22.1", ""},
		{"1.23.0", "1.23.0", ""},
		{"1.21.3", "1.23.0", `the next step is 1.22.x, not 1.23.0. Apply version = "1.22.1" first`},
		{"1.20.3", "1.22.1", "the next step is 1.21.x"},
		{"1.23.0", "1.22.1", "downgrading to 1.22.1 is not supported"},
		{"1.22.1", "1.22.0", "downgrading"},
	} {
		got := UpgradeRefusal(tc.from, tc.to)
		if tc.refused == "" && got != "" {
			t.Errorf("%s -> %s refused: %s", tc.from, tc.to, got)
		}
		if tc.refused != "" && !strings.Contains(got, tc.refused) {
			t.Errorf("%s -> %s: got %q, want it to contain %q", tc.from, tc.to, got, tc.refused)
		}
	}
}
