#!/usr/bin/env bash
# Writes a Terraform CLI configuration that uses the locally built provider in
# $1 (a directory holding terraform-provider-knative) and prints its path.
set -euo pipefail
dir="$1"
rc="$dir/terraformrc"
cat > "$rc" <<RC
provider_installation {
  dev_overrides {
    "tf-knative/knative" = "$dir"
  }
  direct {}
}
RC
echo "$rc"
