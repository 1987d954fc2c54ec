package kube

import (
	"context"
	"slices"
	"sync"

	"k8s.io/client-go/rest"
)

// Warnings are what the API server warned about (Warning headers: API
// deprecations, Knative's webhook advice on security contexts) for the
// requests made with a context from WithWarnings.
type Warnings struct {
	mu   sync.Mutex
	list []string
}

type warningsKey struct{}

// WithWarnings returns a context whose requests' warnings are collected.
func WithWarnings(ctx context.Context) (context.Context, *Warnings) {
	w := &Warnings{}
	return context.WithValue(ctx, warningsKey{}, w), w
}

// List returns each warning once, in the order first seen.
func (w *Warnings) List() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.list)
}

func (w *Warnings) add(text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !slices.Contains(w.list, text) {
		w.list = append(w.list, text)
	}
}

// WarningHandler passes every warning to log (client-go's default prints them
// to stderr, where a Terraform provider's output is noise) and to the
// Warnings of the request's context, if any.
func WarningHandler(log func(ctx context.Context, text string)) rest.WarningHandlerWithContext {
	return warningHandler(log)
}

type warningHandler func(ctx context.Context, text string)

func (h warningHandler) HandleWarningHeaderWithContext(ctx context.Context, code int, _ string, text string) {
	if code != 299 || text == "" { // 299 is the only code Kubernetes warns with
		return
	}
	if w, ok := ctx.Value(warningsKey{}).(*Warnings); ok {
		w.add(text)
	}
	if h != nil {
		h(ctx, text)
	}
}
