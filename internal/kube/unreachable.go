package kube

import (
	"errors"
	"fmt"
	"net"
	"net/http"
)

// UnreachableError is a request that never reached the API server: client-go
// reports only the dial error ("dial tcp 10.0.0.1:6443: connect: connection
// refused"), which does not say what was being dialled or what to check.
type UnreachableError struct {
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("the Kubernetes API server %s cannot be reached (check that it runs and that the kubeconfig names the right server): %v", e.Host, e.Err)
}

// Unwrap keeps client-go's own checks (connection refused: retry, back off) working.
func (e *UnreachableError) Unwrap() error { return e.Err }

// explainUnreachable turns dial errors into UnreachableErrors naming host.
func explainUnreachable(host string) func(http.RoundTripper) http.RoundTripper {
	return func(next http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			resp, err := next.RoundTrip(r)
			var dial *net.OpError
			var explained *UnreachableError
			if err != nil && errors.As(err, &dial) && dial.Op == "dial" && !errors.As(err, &explained) {
				return resp, &UnreachableError{Host: host, Err: err}
			}
			return resp, err
		})
	}
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
