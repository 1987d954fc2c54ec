// Command terraform-provider-knative serves the Knative provider to Terraform.
package main

import (
	"flag"
	"log"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/tf-knative/terraform-provider-knative/provider"
)

// Run "go generate" to copy the Knative release manifests and to render docs/.
//go:generate go tool tfplugindocs generate --provider-name knative

// version is set by the release build (-ldflags "-X main.version=...").
var version = "dev"

// Address is the provider's registry address; dev_overrides in a Terraform CLI
// configuration must use the same one.
const Address = "registry.terraform.io/tf-knative/knative"

func main() {
	var debug bool
	flag.BoolVar(&debug, "debug", false, "run with support for debuggers like delve")
	flag.Parse()

	provider.QuietLogsUnlessAsked()
	var opts []tf6server.ServeOpt
	if debug {
		opts = append(opts, tf6server.WithManagedDebug())
	}
	if err := tf6server.Serve(Address, provider.NewServer(version), opts...); err != nil {
		log.Fatal(err.Error())
	}
}
