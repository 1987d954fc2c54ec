// Command function-knative-app is the composition function that composes
// Knative apps (see package function). Crossplane runs it as a Function
// package; out of cluster it listens where its flags say:
//
//	function-knative-app --address 127.0.0.1:9443 --tls-certs-dir certs/
package main

import (
	"flag"
	"fmt"
	"os"

	fnsdk "github.com/crossplane/function-sdk-go"

	"github.com/tf-knative/terraform-provider-knative/crossplane/function"
)

func main() {
	flags := flag.NewFlagSet(os.Args[0], flag.ExitOnError)
	var (
		network  = flags.String("network", "tcp", "Network on which to listen for gRPC connections.")
		address  = flags.String("address", ":9443", "Address at which to listen for gRPC connections.")
		certsDir = flags.String("tls-certs-dir", os.Getenv("TLS_SERVER_CERTS_DIR"), "Directory with tls.crt, tls.key (the server's) and ca.crt (the clients' CA) for mTLS.")
		insecure = flags.Bool("insecure", false, "Serve without mTLS (development only; Crossplane always uses mTLS).")
	)
	_ = flags.Parse(os.Args[1:])
	if err := fnsdk.Serve(&function.Function{},
		fnsdk.Listen(*network, *address),
		fnsdk.MTLSCertificates(*certsDir),
		fnsdk.Insecure(*insecure)); err != nil {
		fmt.Fprintln(os.Stderr, "function-knative-app:", err)
		os.Exit(1)
	}
}
