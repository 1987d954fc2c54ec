#!/usr/bin/env bash
# make demo-crossplane: Knative apps through Crossplane, installed the way
# Crossplane users install them, on a local sandbox ("crossplane-demo", or
# $CROSSPLANE_SANDBOX):
#   1. Crossplane core runs beside the sandbox (a local process, External
#      package runtime), with an OCI registry of the sandbox's own.
#   2. The packages (provider-knative, function-knative-app,
#      configuration-knative-app, and function-patch-and-transform and
#      function-auto-ready built from the module proxy) are built and pushed
#      there; ImageConfigs point their homes (ghcr.io/tf-knative,
#      xpkg.crossplane.io/crossplane-contrib) at it.
#   3. `kubectl apply` of the Configuration: Crossplane's package manager
#      pulls it, resolves its dependencies (the provider and the functions),
#      installs their CRDs, the App's XRD and Compositions. The sandbox runs
#      each provider and function from the binary in its package's runtime image.
#   4. A ServingRuntime installs Knative Serving; the example App is composed
#      by the patch-and-transform Composition; its URL is printed once Ready.
set -euo pipefail
cd "$(dirname "$0")/../.."

name="${CROSSPLANE_SANDBOX:-crossplane-demo}"
version="${XPKG_VERSION:-v0.1.0}"
mkdir -p bin
go build -o bin/sandbox ./internal/cmd/sandbox
kubeconfig="$(bin/sandbox up -name "$name" -quiet)"
kubectl="$(bin/sandbox kubectl)"
k() { "$kubectl" --kubeconfig "$kubeconfig" "$@"; }

bin/sandbox crossplane -name "$name"
echo "Building the packages and pushing them to the sandbox's registry..."
registry="$(bin/sandbox publish -name "$name" -version "$version" -quiet)"

echo "Installing configuration-knative-app $version from $registry (Crossplane resolves its dependencies)..."
k apply -f - >/dev/null <<YAML
apiVersion: pkg.crossplane.io/v1
kind: Configuration
metadata:
  name: tf-knative-configuration-knative-app
spec:
  package: ghcr.io/tf-knative/configuration-knative-app:$version
YAML
bin/sandbox packages -name "$name" -quiet
k get providers.pkg.crossplane.io,functions.pkg.crossplane.io,configurations.pkg.crossplane.io

# The ClusterProviderConfig "default": the provider's own identity (in the
# sandbox, the sandbox's kubeconfig; in a cluster, its service account).
k apply --server-side -f - >/dev/null <<'YAML'
apiVersion: knative.m.crossplane.io/v1alpha1
kind: ClusterProviderConfig
metadata: {name: default}
spec:
  credentials: {source: InjectedIdentity}
YAML

echo
echo "Installing Knative Serving (examples/crossplane/servingruntime.yaml)..."
k apply -f examples/crossplane/servingruntime.yaml >/dev/null
k wait --for condition=Ready --timeout 10m servingruntime.serving.knative.m.crossplane.io/knative-serving >/dev/null

echo "Composing the App (examples/crossplane/app/app.yaml, the patch-and-transform Composition)..."
k create namespace apps --dry-run=client -o yaml | k apply -f - >/dev/null
k apply -f examples/crossplane/app/app.yaml >/dev/null
k -n apps wait --for condition=Ready --timeout 5m apps.platform.example.org/hello >/dev/null

echo
k -n apps get apps.platform.example.org,managed
echo
echo "url = \"$(k -n apps get apps.platform.example.org/hello -o jsonpath='{.status.url}')\""
echo "ready_revision = \"$(k -n apps get apps.platform.example.org/hello -o jsonpath='{.status.latestReadyRevision}')\""
echo
echo "Crossplane, its packages and the registry keep running in sandbox \"$name\": export KUBECONFIG=$kubeconfig"
echo "to look at it; make sandbox-down SANDBOX=$name stops everything."
