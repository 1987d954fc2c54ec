package serving

import (
	"cmp"
	"context"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/cache"
)

// Waiting on the API server: watches where there is something to watch,
// polls where there is not, and the conditions objects report.

type dynamicResource = dynamic.ResourceInterface

// listWatch lists and watches r, optionally narrowed by a field selector.
func listWatch(r dynamicResource, fieldSelector string) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
			opts.FieldSelector = fieldSelector
			return r.List(ctx, opts)
		},
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			opts.FieldSelector = fieldSelector
			return r.Watch(ctx, opts)
		},
	}
}

// pollUntil retries ok until it returns true or ctx ends, from every 100ms
// backing off to every 2s: quick when readiness is near, light when it is
// not. Only for checks that have nothing to watch, like a dry-run through a webhook.
func pollUntil(ctx context.Context, ok func() bool) error {
	delay := 100 * time.Millisecond
	for !ok() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*3/2, 2*time.Second)
	}
	return nil
}

// pollRead reads until done accepts what a read found or ctx ends, backing
// off as pollUntil does. A read that ctx's end interrupts does not count: a
// wait that times out returns what the last whole read found with that
// read's error, or ctx's when it had none, so it says what it last saw
// rather than "context deadline exceeded" from a read cut short. Before any
// whole read it returns the zero T and ctx's error.
func pollRead[T any](ctx context.Context, read func() (T, error), done func(T) bool) (T, error) {
	var last T
	var lastErr error
	err := pollUntil(ctx, func() bool {
		found, err := read()
		if ctx.Err() != nil {
			return false
		}
		last, lastErr = found, err
		return err == nil && done(found)
	})
	if err != nil {
		return last, cmp.Or(lastErr, err)
	}
	return last, nil
}

// empty is done when a read finds nothing left.
func empty[T any](found []T) bool { return len(found) == 0 }

// anything is done at the first read that succeeds.
func anything[T any](T) bool { return true }

func condition(o *unstructured.Unstructured, conditionType string) map[string]any {
	conditions, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	for _, c := range conditions {
		if m, ok := c.(map[string]any); ok && m["type"] == conditionType {
			return m
		}
	}
	return nil
}

func conditionStatus(o *unstructured.Unstructured, conditionType string) string {
	if c := condition(o, conditionType); c != nil {
		s, _ := c["status"].(string)
		return s
	}
	return ""
}
