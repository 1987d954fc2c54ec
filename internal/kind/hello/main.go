// Command hello is the workload of the kind cluster's end-to-end tests: a
// Knative Service's container, built into an image here so the tests pull
// nothing from the internet.
//
// It listens on $PORT (Knative sets it; 8080 otherwise) and answers GET / with
// "Hello <$TARGET or World> from <hostname>\n". The hostname is the pod's
// name, so the bodies of a traffic split show which revision answered. When
// $EXIT_CODE is set, it exits at once with that code, so a test can make a
// revision whose container fails. On SIGTERM it stops accepting connections
// and finishes the requests in flight, as Knative's queue-proxy expects.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

func main() {
	if s, ok := os.LookupEnv("EXIT_CODE"); ok {
		code, err := strconv.Atoi(s)
		if err != nil {
			code = 1
		}
		fmt.Fprintf(os.Stderr, "hello: exiting with code %d as EXIT_CODE=%q asks\n", code, s)
		os.Exit(code)
	}

	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	target := os.Getenv("TARGET")
	if target == "" {
		target = "World"
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "Hello %s from %s\n", target, host)
	})
	// HTTP/1 and HTTP/2 without TLS (h2c), for Services whose port is named h2c.
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 10 * time.Second, Protocols: &protocols}
	if err := serve(srv); err != nil {
		log.Fatalf("hello: %v", err)
	}
}

// serve runs srv until SIGTERM, then lets the requests in flight finish.
func serve(srv *http.Server) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Printf("hello: listening on %s", srv.Addr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Print("hello: shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
