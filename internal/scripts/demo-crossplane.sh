#!/usr/bin/env bash
# make demo-crossplane: Knative apps through Crossplane on a local sandbox
# ("crossplane-demo", or $CROSSPLANE_SANDBOX). Crossplane core and
# function-knative-app run as local processes beside the sandbox, this provider
# runs out of cluster against it, a ServingRuntime installs Knative Serving, and
# the example App (examples/crossplane/app) is composed into a Knative Service
# and a DomainMapping; the App's URL is printed once it is Ready.
set -euo pipefail
cd "$(dirname "$0")/../.."

name="${CROSSPLANE_SANDBOX:-crossplane-demo}"
mkdir -p bin
go build -o bin/sandbox ./internal/cmd/sandbox
go build -o bin/crossplane-provider-knative ./crossplane/cmd/provider
go build -o bin/function-knative-app ./crossplane/cmd/function-knative-app
kubeconfig="$(bin/sandbox up -name "$name" -quiet)"
kubectl="$(bin/sandbox kubectl)"
k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }

bin/sandbox crossplane -name "$name"
bin/sandbox function -name "$name" -function function-knative-app \
  -package crossplane/function/package/crossplane.yaml -- "$PWD/bin/function-knative-app"

# The provider: its CRDs, the ClusterProviderConfig "default" (the provider's
# own identity: the sandbox's kubeconfig), the provider in the background.
k apply --server-side -f crossplane/package/crds >/dev/null
k wait --for condition=Established --timeout 60s -f crossplane/package/crds >/dev/null
k apply --server-side -f - >/dev/null <<'YAML'
apiVersion: knative.m.crossplane.io/v1alpha1
kind: ClusterProviderConfig
metadata: {name: default}
spec:
  credentials: {source: InjectedIdentity}
YAML
bin/sandbox spawn -name "$name" -process crossplane-provider-knative -- \
  "$PWD/bin/crossplane-provider-knative" --kubeconfig "$kubeconfig"

echo "Installing Knative Serving (examples/crossplane/servingruntime.yaml)..."
k apply -f examples/crossplane/servingruntime.yaml >/dev/null
k wait --for condition=Ready --timeout 10m servingruntime.serving.knative.m.crossplane.io/knative-serving >/dev/null

echo "Composing the App (examples/crossplane/app)..."
k create namespace apps --dry-run=client -o yaml | k apply -f - >/dev/null
k apply -f examples/crossplane/app/definition.yaml >/dev/null
k wait --for condition=Established --timeout 2m compositeresourcedefinition/apps.platform.example.org >/dev/null
k apply -f examples/crossplane/app/composition.yaml -f examples/crossplane/app/app.yaml >/dev/null
k -n apps wait --for condition=Ready --timeout 5m apps.platform.example.org/hello >/dev/null

echo
k -n apps get apps.platform.example.org,managed
echo
echo "url = \"$(k -n apps get apps.platform.example.org/hello -o jsonpath='{.status.url}')\""
echo "ready_revision = \"$(k -n apps get apps.platform.example.org/hello -o jsonpath='{.status.latestReadyRevision}')\""
echo
echo "Crossplane, the function and the provider keep running in sandbox \"$name\": export KUBECONFIG=$kubeconfig"
echo "to look at it; make sandbox-down SANDBOX=$name stops everything."
