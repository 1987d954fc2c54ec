# Sourced by the other scripts: a Terraform CLI on PATH and a usable CLI
# configuration. TF=tofu uses OpenTofu instead: tests, demos and $TF_CLI.
case "${TF:-terraform}" in
  terraform) TF_ACC_TERRAFORM_PATH="$(internal/scripts/terraform.sh)" ;;
  tofu)
    TF_ACC_TERRAFORM_PATH="$(internal/scripts/tofu.sh)"
    # The in-process provider of the acceptance tests, under OpenTofu's registry.
    export TF_ACC_PROVIDER_HOST=registry.opentofu.org
    ;;
  *) echo "TF must be terraform or tofu, not \"$TF\"" >&2; exit 2 ;;
esac
export TF_ACC_TERRAFORM_PATH TF_CLI="$TF_ACC_TERRAFORM_PATH"
export PATH="$(dirname "$TF_ACC_TERRAFORM_PATH"):$PATH"
export TFK_CACHE_DIR="${TFK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-knative}"
# Some environments point TF_CLI_CONFIG_FILE at a file that does not exist,
# which makes every terraform command warn; use an empty one instead.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then
  mkdir -p "$TFK_CACHE_DIR" && : > "$TFK_CACHE_DIR/empty.tfrc"
  export TF_CLI_CONFIG_FILE="$TFK_CACHE_DIR/empty.tfrc"
fi
