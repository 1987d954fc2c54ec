package kube

import (
	"context"
	"net"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
)

// TestUnreachableAPIServer: a request to an API server that does not listen
// says which server cannot be reached, once, and is still a connection
// refused to client-go's retry and backoff logic.
func TestUnreachableAPIServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := "http://" + l.Addr().String()
	l.Close() // nothing listens there now
	clients, err := ClientsFor(&rest.Config{Host: host}, "test")
	if err != nil {
		t.Fatal(err)
	}
	again, err := ClientsFor(clients.REST, "test") // derived from the first: wrapped twice
	if err != nil {
		t.Fatal(err)
	}
	_, err = again.Kubernetes.CoreV1().Namespaces().Get(context.Background(), "default", metav1.GetOptions{})
	if err == nil {
		t.Fatal("a request to a closed port succeeded")
	}
	msg := err.Error()
	if !strings.Contains(msg, "the Kubernetes API server "+host+" cannot be reached") || !strings.Contains(msg, "connection refused") {
		t.Errorf("the error does not name the server and the cause: %s", msg)
	}
	if n := strings.Count(msg, "cannot be reached"); n != 1 {
		t.Errorf("the explanation appears %d times: %s", n, msg)
	}
	if !utilnet.IsConnectionRefused(err) {
		t.Errorf("client-go no longer sees a connection refused in %v", err)
	}
}
