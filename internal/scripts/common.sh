# Sourced by the other scripts: a Terraform CLI on PATH and a usable CLI configuration.
TF_ACC_TERRAFORM_PATH="$(internal/scripts/terraform.sh)"
export TF_ACC_TERRAFORM_PATH
export PATH="$(dirname "$TF_ACC_TERRAFORM_PATH"):$PATH"
export TFK_CACHE_DIR="${TFK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-knative}"
# Some environments point TF_CLI_CONFIG_FILE at a file that does not exist,
# which makes every terraform command warn; use an empty one instead.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then
  mkdir -p "$TFK_CACHE_DIR" && : > "$TFK_CACHE_DIR/empty.tfrc"
  export TF_CLI_CONFIG_FILE="$TFK_CACHE_DIR/empty.tfrc"
fi
