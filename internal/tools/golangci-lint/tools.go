//go:build tools

// Pins golangci-lint for make lint (internal/scripts/lint.sh builds it from
// the Go module proxy and caches it by version).
package tools

import _ "github.com/golangci/golangci-lint/v2/cmd/golangci-lint"
