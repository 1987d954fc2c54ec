// Module registry builds the sandbox's OCI registry from go-containerregistry.
module sandboxtools/registry

go 1.26.0

require github.com/google/go-containerregistry v0.22.1
