// Command xpkg builds and pushes this repository's Crossplane packages
// (provider-knative, function-knative-app, configuration-knative-app) without
// Docker:
//
//	go run ./internal/cmd/xpkg build [-out bin] [-version v0.1.0] [-platforms linux/amd64,linux/arm64]
//	go run ./internal/cmd/xpkg push -to ghcr.io/tf-knative [-out bin] [-version v0.1.0]
//
// The crossplane CLI it runs is built from the Go module proxy and cached by
// version (internal/sandbox/tools/crossplane-cli).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
	"github.com/tf-knative/terraform-provider-knative/internal/xpkg"
)

func main() {
	if len(os.Args) < 2 || (os.Args[1] != "build" && os.Args[1] != "push") {
		fmt.Fprintln(os.Stderr, "usage: xpkg build|push [flags]")
		os.Exit(2)
	}
	verb := os.Args[1]
	flags := flag.NewFlagSet("xpkg "+verb, flag.ExitOnError)
	out := flags.String("out", "bin", "Directory of the package files.")
	version := flags.String("version", "v0.1.0", "The packages' version (their tag).")
	platforms := flags.String("platforms", "linux/amd64,linux/arm64", "Platforms of the runtime images (build).")
	to := flags.String("to", "", "Registry and organisation to push to, such as "+xpkg.Home+" (push).")
	_ = flags.Parse(os.Args[2:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, verb, *out, *version, strings.Split(*platforms, ","), *to)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "xpkg:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, verb, out, version string, platforms []string, to string) error {
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	out, err = filepath.Abs(out)
	if err != nil {
		return err
	}
	builder, err := sandbox.NewBuilder(os.Stderr)
	if err != nil {
		return err
	}
	crank, err := builder.BuildCrossplaneCLI(ctx)
	if err != nil {
		return err
	}
	switch verb {
	case "build":
		b := &xpkg.Builder{RepoRoot: root, Crank: crank, OutDir: out, Version: version, Log: os.Stderr}
		for _, p := range xpkg.Ours {
			files, err := b.Build(ctx, p, platforms)
			if err != nil {
				return err
			}
			for _, f := range files {
				fmt.Println(f)
			}
		}
	case "push":
		if to == "" {
			return fmt.Errorf("push needs -to REGISTRY/ORG")
		}
		for _, p := range xpkg.Ours {
			files, err := filepath.Glob(filepath.Join(out, p.Name+"-"+version+"*.xpkg"))
			if err != nil || len(files) == 0 {
				return fmt.Errorf("no package files of %s %s in %s: run xpkg build first", p.Name, version, out)
			}
			ref := strings.TrimSuffix(to, "/") + "/" + p.Name + ":" + version
			if err := xpkg.Push(ctx, crank, os.Stderr, ref, files); err != nil {
				return err
			}
			fmt.Println(ref)
		}
	}
	return nil
}
