#!/usr/bin/env bash
# make demo, the main job: start the local sandbox, build the provider and
# terraform apply the quickstart in examples/quickstart against it
# (TF=tofu: with OpenTofu).
set -euo pipefail
cd "$(dirname "$0")/../.."
source internal/scripts/common.sh

kubeconfig="$(go run ./internal/cmd/sandbox up -name "${SANDBOX:-default}" -quiet)"

source internal/scripts/provider-mirror.sh
export KUBE_CONFIG_PATH="$kubeconfig"

terraform_init examples/quickstart
cd examples/quickstart
# OpenTofu (TF=tofu) keeps a state of its own, so both can be tried side by side.
state=()
if [ "${TF:-terraform}" = tofu ]; then state=(-state=tofu.tfstate); fi
"$TF_CLI" apply -auto-approve -input=false "${state[@]}"
echo
echo "The sandbox keeps running: export KUBECONFIG=$kubeconfig to look at it; make sandbox-down stops it."
