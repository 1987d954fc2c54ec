#!/usr/bin/env bash
# make demo-kind: the quickstart on a real cluster. Creates (or reuses) the
# offline kind cluster, builds the provider, terraform applies examples/kind
# (Knative Serving from the project's registry, Traefik as the networking
# layer, the hello app from the registry), then curls the Service's URL
# through the ingress and prints the answer.
set -euo pipefail
cd "$(dirname "$0")/../.."
source internal/scripts/common.sh

# A failed kind env fails here, not later at an unset variable.
kind_env="$(go run ./internal/cmd/kind env)"
eval "$kind_env"
source internal/scripts/provider-mirror.sh
export KUBE_CONFIG_PATH="$KIND_KUBECONFIG"

terraform_init examples/kind
cd examples/kind
"$TF_CLI" apply -auto-approve -input=false \
  -var "knative_images=$KIND_KNATIVE_IMAGES" -var "image=$KIND_REGISTRY/hello:v1" \
  -var "ingress_class=$KIND_INGRESS_CLASS" -var "ingress_services=[\"$KIND_INGRESS_SERVICES\"]"
url="$("$TF_CLI" output -raw url)"
host="${url#*://}"

# Traefik marks a KIngress ready as it hands the route to its router, without
# probing it as Knative's own layers do: the first moments may still 404.
echo
echo "curl -H 'Host: $host' $KIND_INGRESS/"
for attempt in $(seq 1 30); do
  if body="$(curl -sS --fail --max-time 5 -H "Host: $host" "$KIND_INGRESS/" 2>&1)"; then
    echo "$body"
    break
  fi
  if [ "$attempt" = 30 ]; then
    echo "demo-kind: $url did not answer through the ingress: $body" >&2
    exit 1
  fi
  sleep 1
done
echo
echo "The kind cluster keeps running: export KUBECONFIG=$KIND_KUBECONFIG to look at it; make kind-down deletes it."
