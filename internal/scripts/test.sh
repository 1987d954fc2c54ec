#!/usr/bin/env bash
# make test: unit tests and acceptance tests (TF_ACC) against the local sandbox
# "test", or against the cluster of TEST_KUBECONFIG (+ TEST_CONTEXT) if given.
set -euo pipefail
cd "$(dirname "$0")/../.."
source internal/scripts/common.sh

if [ -n "${TEST_KUBECONFIG:-}" ]; then
  export KNATIVE_TEST_KUBECONFIG="$TEST_KUBECONFIG" KNATIVE_TEST_CONTEXT="${TEST_CONTEXT:-}"
  echo "acceptance tests run against $TEST_KUBECONFIG ${TEST_CONTEXT:+(context $TEST_CONTEXT)}"
  # The Crossplane tests install and remove Knative too: a cluster of their own.
  if [ -n "${TEST_CROSSPLANE_KUBECONFIG:-}" ]; then
    export KNATIVE_TEST_CROSSPLANE_KUBECONFIG="$TEST_CROSSPLANE_KUBECONFIG" KNATIVE_TEST_CROSSPLANE_CONTEXT="${TEST_CROSSPLANE_CONTEXT:-}"
    echo "Crossplane tests run against $TEST_CROSSPLANE_KUBECONFIG ${TEST_CROSSPLANE_CONTEXT:+(context $TEST_CROSSPLANE_CONTEXT)}"
  fi
else
  # Started here, not inside go test, so a first build shows its progress.
  export KNATIVE_TEST_KUBECONFIG="$(go run ./internal/cmd/sandbox up -name test -quiet)"
  unset KNATIVE_TEST_CONTEXT
  export KNATIVE_TEST_SANDBOX=1 # the sandbox's own tests run too
  echo "acceptance tests run against the sandbox \"test\" ($KNATIVE_TEST_KUBECONFIG)"
fi
export TF_ACC=1
# Four packages at a time, not GOMAXPROCS: the acceptance tests mostly wait on
# their clusters (the provider's on "test", the Crossplane ones on sandboxes
# of their own), so they overlap instead of queueing behind each other.
go test ${PACKAGES:-./...} -p "${TEST_PACKAGES_AT_ONCE:-4}" -count=1 -timeout 60m ${TESTARGS:-}
