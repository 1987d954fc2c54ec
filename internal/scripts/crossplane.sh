#!/usr/bin/env bash
# make crossplane: run the Crossplane provider out of cluster against the
# local sandbox (or the control plane of KUBECONFIG_CONTROL_PLANE): install its
# CRDs and the examples' ProviderConfigs, then run it in the foreground.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ -n "${KUBECONFIG_CONTROL_PLANE:-}" ]; then
  kubeconfig="$KUBECONFIG_CONTROL_PLANE"
  kubectl="${KUBECTL:-kubectl}"
else
  kubeconfig="$(go run ./internal/cmd/sandbox up -name "${SANDBOX:-default}" -quiet)"
  kubectl="$(go run ./internal/cmd/sandbox kubectl)"
fi
go build -o bin/crossplane-provider-knative ./crossplane/cmd/provider
"$kubectl" --kubeconfig "$kubeconfig" apply --server-side -f crossplane/package/crds >/dev/null
"$kubectl" --kubeconfig "$kubeconfig" wait --for condition=Established --timeout 60s -f crossplane/package/crds >/dev/null
echo "CRDs installed. In another shell:"
echo "  export KUBECONFIG=$kubeconfig"
echo "  kubectl apply -f examples/crossplane/servingruntime.yaml     # Knative Serving, through the ClusterProviderConfig below"
echo "  kubectl get managed"
"$kubectl" --kubeconfig "$kubeconfig" apply --server-side -f - >/dev/null <<'YAML'
apiVersion: knative.m.crossplane.io/v1alpha1
kind: ClusterProviderConfig
metadata: {name: default}
spec:
  credentials: {source: InjectedIdentity}
YAML
exec bin/crossplane-provider-knative --kubeconfig "$kubeconfig" "$@"
