# Sourced by the demo scripts: builds the provider and installs it as a
# release would be, into a filesystem mirror that terraform init reads (under
# both registries' names, for Terraform and OpenTofu); exports
# TF_CLI_CONFIG_FILE. Unlike dev_overrides, this makes every command
# warning-free.
provider_version=0.1.0
mirror="$TFK_CACHE_DIR/provider-mirror"
platform="$(go env GOOS)_$(go env GOARCH)"
binary="$mirror/registry.terraform.io/tf-knative/knative/$provider_version/$platform/terraform-provider-knative_v$provider_version"
mkdir -p "$(dirname "$binary")"
go build -ldflags "-X main.version=$provider_version" -o "$binary" .
tofu_dir="$mirror/registry.opentofu.org/tf-knative/knative/$provider_version/$platform"
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

# terraform_init DIR: a fresh init (a rebuilt provider has another checksum
# than the one a lock file recorded), quiet unless it fails.
terraform_init() {
  rm -rf "$1/.terraform" "$1/.terraform.lock.hcl"
  local out
  if ! out="$(cd "$1" && "$TF_CLI" init -input=false -no-color 2>&1)"; then
    echo "$out" >&2
    exit 1
  fi
}
