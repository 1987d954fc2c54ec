#!/usr/bin/env bash
# Prints the path of a Terraform CLI to use: $TF_ACC_TERRAFORM_PATH, else
# terraform on PATH, else one built from the Go module proxy and cached by version.
set -euo pipefail
if [ -n "${TF_ACC_TERRAFORM_PATH:-}" ] && [ -x "$TF_ACC_TERRAFORM_PATH" ]; then
  echo "$TF_ACC_TERRAFORM_PATH"; exit 0
fi
if command -v terraform >/dev/null 2>&1; then
  command -v terraform; exit 0
fi
version=v1.5.7 # the newest Terraform under the MPL that builds from the module proxy
cache="${TFK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-knative}/bin/terraform-$version"
if [ ! -x "$cache/terraform" ]; then
  echo "building terraform $version (no terraform on PATH; cached in $cache)" >&2
  start=$(date +%s)
  GOBIN="$cache.tmp" GOFLAGS=-buildvcs=false go install "github.com/hashicorp/terraform@$version" >&2
  rm -rf "$cache" && mv "$cache.tmp" "$cache"
  echo "built terraform $version in $(( $(date +%s) - start ))s" >&2
fi
echo "$cache/terraform"
