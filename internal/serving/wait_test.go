package serving

import (
	"context"
	"errors"
	"testing"
)

func TestPollReadKeepsTheLastWholeRead(t *testing.T) {
	refused := errors.New("connection refused")
	for _, tc := range []struct {
		name      string
		reads     []string // what each read finds; "!" fails, "^" is interrupted by ctx's end
		want      string
		wantErr   error
		wantReads int
	}{
		{name: "done", reads: []string{"a", "b", ""}, want: "", wantReads: 3},
		{name: "interrupted", reads: []string{"a", "b", "^"}, want: "b", wantErr: context.Canceled, wantReads: 3},
		{name: "interrupted after a failed read", reads: []string{"a", "!", "^"}, want: "", wantErr: refused, wantReads: 3},
		{name: "interrupted before any whole read", reads: []string{"^"}, want: "", wantErr: context.Canceled, wantReads: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n := 0
			got, err := pollRead(ctx, func() (string, error) {
				found := tc.reads[n]
				n++
				switch found {
				case "!":
					return "", refused
				case "^":
					cancel()
					return "partial", ctx.Err()
				}
				return found, nil
			}, func(found string) bool { return found == "" })
			if got != tc.want || !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) || n != tc.wantReads {
				t.Errorf("pollRead = %q, %v after %d reads; want %q, %v after %d", got, err, n, tc.want, tc.wantErr, tc.wantReads)
			}
		})
	}
}
