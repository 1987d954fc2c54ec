#!/usr/bin/env bash
# make test-kind: the acceptance tests on the offline kind cluster (created
# or reused): Knative installed from the project's registry with Traefik as
# the networking layer, and the tests only real pods can pass (images pulled,
# traffic through the ingress, scale from zero). TESTARGS narrows the run as
# for make test; by default the provider's acceptance tests run.
set -euo pipefail
cd "$(dirname "$0")/../.."

# A failed kind env fails here, not later at an unset variable.
kind_env="$(go run ./internal/cmd/kind env)"
eval "$kind_env"
export KNATIVE_TEST_REGISTRY="$KIND_KNATIVE_IMAGES"
export KNATIVE_TEST_INGRESS_CLASS="$KIND_INGRESS_CLASS"
export KNATIVE_TEST_INGRESS_SERVICES="$KIND_INGRESS_SERVICES"
export KNATIVE_TEST_INGRESS_URL="$KIND_INGRESS"
export TEST_KUBECONFIG="$KIND_KUBECONFIG"
# One package at a time: the tests share the cluster's single runtime.
export TEST_PACKAGES_AT_ONCE=1
export PACKAGES="${PACKAGES:-./provider}"
export TESTARGS="${TESTARGS:--run ^TestAcc}"
internal/scripts/test.sh
