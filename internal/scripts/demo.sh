#!/usr/bin/env bash
# make demo, the main job: start the local sandbox, build the provider and
# terraform apply the quickstart in examples/quickstart against it
# (TF=tofu: with OpenTofu).
set -euo pipefail
cd "$(dirname "$0")/../.."
source internal/scripts/common.sh

kubeconfig="$(go run ./internal/cmd/sandbox up -name "${SANDBOX:-default}" -quiet)"

# The provider is installed as a release would be: into a filesystem mirror
# that terraform init reads (under both registries' names, for Terraform and
# OpenTofu). Unlike dev_overrides, this makes every command warning-free.
version=0.1.0
mirror="$TFK_CACHE_DIR/provider-mirror"
platform="$(go env GOOS)_$(go env GOARCH)"
binary="$mirror/registry.terraform.io/tf-knative/knative/$version/$platform/terraform-provider-knative_v$version"
mkdir -p "$(dirname "$binary")"
go build -ldflags "-X main.version=$version" -o "$binary" .
tofu_dir="$mirror/registry.opentofu.org/tf-knative/knative/$version/$platform"
mkdir -p "$tofu_dir" && cp "$binary" "$tofu_dir/"
rc="$mirror/terraformrc"
cat > "$rc" <<RC
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["tf-knative/knative"]
  }
  direct {
    exclude = ["tf-knative/knative"]
  }
}
RC
export TF_CLI_CONFIG_FILE="$rc"
export KUBE_CONFIG_PATH="$kubeconfig"

cd examples/quickstart
# A rebuilt provider has another checksum than the one a lock file recorded.
rm -rf .terraform .terraform.lock.hcl
if ! out="$("$TF_CLI" init -input=false -no-color 2>&1)"; then
  echo "$out" >&2
  exit 1
fi
# OpenTofu (TF=tofu) keeps a state of its own, so both can be tried side by side.
state=()
if [ "${TF:-terraform}" = tofu ]; then state=(-state=tofu.tfstate); fi
"$TF_CLI" apply -auto-approve -input=false "${state[@]}"
echo
echo "The sandbox keeps running: export KUBECONFIG=$kubeconfig to look at it; make sandbox-down stops it."
