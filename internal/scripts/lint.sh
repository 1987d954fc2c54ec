#!/usr/bin/env bash
# make lint: go vet, then golangci-lint with .golangci.yml. golangci-lint is
# $GOLANGCI_LINT_PATH, else one built from the Go module proxy
# (internal/tools/golangci-lint) and cached by version: a golangci-lint built
# by another Go than this one's can refuse to load the code.
set -euo pipefail
cd "$(dirname "$0")/../.."
go vet ./...
lint="${GOLANGCI_LINT_PATH:-}"
if [ -z "$lint" ]; then
  version=$(awk '$1 == "require" && $2 == "github.com/golangci/golangci-lint/v2" { print $3 }' internal/tools/golangci-lint/go.mod)
  cache="${TFK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-knative}/bin/golangci-lint-$version-$(go env GOVERSION)"
  if [ ! -x "$cache/golangci-lint" ]; then
    echo "building golangci-lint $version (cached in $cache)" >&2
    start=$(date +%s)
    rm -rf "$cache.tmp" && mkdir -p "$cache.tmp"
    (cd internal/tools/golangci-lint && GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath -ldflags "-s -w" \
      -o "$cache.tmp/golangci-lint" github.com/golangci/golangci-lint/v2/cmd/golangci-lint)
    rm -rf "$cache" && mv "$cache.tmp" "$cache"
    echo "built golangci-lint $version in $(( $(date +%s) - start ))s" >&2
  fi
  lint="$cache/golangci-lint"
fi
"$lint" run ./...
