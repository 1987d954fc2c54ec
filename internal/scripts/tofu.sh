#!/usr/bin/env bash
# Prints the path of an OpenTofu CLI to use: $TOFU_PATH, else tofu on PATH,
# else one built from the Go module proxy (internal/tools/opentofu) and cached
# by version.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -n "${TOFU_PATH:-}" ] && [ -x "$TOFU_PATH" ]; then
  echo "$TOFU_PATH"; exit 0
fi
if command -v tofu >/dev/null 2>&1; then
  command -v tofu; exit 0
fi
version=$(awk '$1 == "require" && $2 == "github.com/opentofu/opentofu" { print $3 }' internal/tools/opentofu/go.mod)
cache="${TFK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/terraform-provider-knative}/bin/tofu-$version"
mkdir -p "$(dirname "$cache")"
# One build at a time (CI builds it in the background while tests run).
exec 9>"$cache.lock"
flock 9
if [ ! -x "$cache/tofu" ]; then
  echo "building OpenTofu $version (no tofu on PATH; cached in $cache)" >&2
  start=$(date +%s)
  rm -rf "$cache.tmp" && mkdir -p "$cache.tmp"
  (cd internal/tools/opentofu && GOFLAGS="-mod=mod -buildvcs=false" go build -trimpath \
    -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
    -o "$cache.tmp/tofu" github.com/opentofu/opentofu/cmd/tofu) >&2
  rm -rf "$cache" && mv "$cache.tmp" "$cache"
  echo "built OpenTofu $version in $(( $(date +%s) - start ))s" >&2
fi
echo "$cache/tofu"
