package kube

import (
	"context"
	"slices"
	"testing"
)

func TestWarningHandler(t *testing.T) {
	var logged []string
	h := WarningHandler(func(_ context.Context, text string) { logged = append(logged, text) })
	ctx, warnings := WithWarnings(context.Background())

	h.HandleWarningHeaderWithContext(ctx, 299, "-", "Kubernetes default value is insecure")
	h.HandleWarningHeaderWithContext(ctx, 299, "-", "Kubernetes default value is insecure")
	h.HandleWarningHeaderWithContext(ctx, 199, "-", "not a Kubernetes warning")
	h.HandleWarningHeaderWithContext(context.Background(), 299, "-", "v1beta1 is deprecated")

	if got := warnings.List(); !slices.Equal(got, []string{"Kubernetes default value is insecure"}) {
		t.Errorf("collected %q: want the one warning of the collecting context, once", got)
	}
	if want := []string{"Kubernetes default value is insecure", "Kubernetes default value is insecure", "v1beta1 is deprecated"}; !slices.Equal(logged, want) {
		t.Errorf("logged %q, want %q", logged, want)
	}
}
