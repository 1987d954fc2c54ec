//go:build tools

// Package tools pins actionlint, run by make release-check.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
