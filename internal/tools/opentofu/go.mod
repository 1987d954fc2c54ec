// Builds OpenTofu's CLI from the Go module proxy (internal/scripts/tofu.sh):
// its module replaces hcl/v2 with OpenTofu's fork, which `go install
// pkg@version` refuses, so the build runs in this module, which repeats that
// replace.
module github.com/tf-knative/terraform-provider-knative/internal/tools/opentofu

go 1.24.9

require github.com/opentofu/opentofu v1.10.7

replace github.com/hashicorp/hcl/v2 v2.20.1 => github.com/opentofu/hcl/v2 v2.20.2-0.20251021132045-587d123c2828
