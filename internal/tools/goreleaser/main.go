// Command goreleaser-check loads a GoReleaser configuration the way
// GoReleaser does and fails on any field it does not know (make release-check).
package main

import (
	"fmt"
	"os"

	"github.com/goreleaser/goreleaser/v2/pkg/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: goreleaser-check .goreleaser.yml")
		os.Exit(2)
	}
	cfg, err := config.Load(os.Args[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	fmt.Printf("%s: valid (config version %d: %d build, %d archive, checksums %q, %d signature)\n",
		os.Args[1], cfg.Version, len(cfg.Builds), len(cfg.Archives), cfg.Checksum.NameTemplate, len(cfg.Signs))
}
