// Command registry is the sandbox's OCI registry: go-containerregistry's
// pkg/registry (the registry its own tests run) on a loopback address, blobs
// kept on disk. Crossplane's package manager pulls the provider's and the
// functions' packages from it as from any registry; go-containerregistry
// speaks plain HTTP to 127.0.0.1:PORT registries, as Crossplane does.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

func main() {
	addr := flag.String("address", "127.0.0.1:0", "Address to listen on.")
	dir := flag.String("blobs", "", "Directory for blobs (in memory when empty).")
	flag.Parse()

	opts := []registry.Option{registry.Logger(log.New(os.Stderr, "", log.LstdFlags))}
	if *dir != "" {
		if err := os.MkdirAll(*dir, 0o755); err != nil {
			log.Fatal(err)
		}
		opts = append(opts, registry.WithBlobHandler(registry.NewDiskBlobHandler(*dir)))
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("serving on %s", l.Addr())
	srv := &http.Server{Handler: registry.New(opts...), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(l))
}
