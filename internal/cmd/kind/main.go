// Command kind runs the offline kind cluster (see internal/kind).
//
//	go run ./internal/cmd/kind up [-name NAME] [-quiet]   create or reuse it; prints the kubeconfig path
//	go run ./internal/cmd/kind down [-name NAME] [-engine] delete it (-engine: stop the Docker engine too)
//	go run ./internal/cmd/kind env [-name NAME]           create or reuse it; print its kubeconfig, registry and ingress as shell variables
//	go run ./internal/cmd/kind build                      only build (or find) what the cluster's node and images need
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/tf-knative/terraform-provider-knative/internal/kind"
	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd := os.Args[1]
	flags := flag.NewFlagSet(cmd, flag.ExitOnError)
	name := flags.String("name", envOr("KIND_CLUSTER", "knative"), "cluster name (the kind cluster is tfk-NAME)")
	quiet := flags.Bool("quiet", false, "up: print only the kubeconfig path")
	engine := flags.Bool("engine", false, "down: stop the project's Docker engine too")
	_ = flags.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := kind.Options{Name: *name}
	switch cmd {
	case "up", "env":
		started := time.Now()
		if cmd == "env" {
			opts.Log = devNull()
		}
		c, err := kind.Up(ctx, opts)
		if err != nil {
			fail(err)
		}
		switch {
		case cmd == "env":
			for _, v := range [][2]string{
				{"KIND_KUBECONFIG", c.Kubeconfig}, {"KIND_REGISTRY", c.Registry}, {"KIND_INGRESS", c.IngressURL},
				{"KIND_INGRESS_CLASS", kind.IngressClass}, {"KIND_INGRESS_SERVICES", kind.IngressService},
				{"KIND_KNATIVE_IMAGES", kind.KnativeRegistryTemplate()},
			} {
				fmt.Printf("%s=%s\n", v[0], shellQuote(v[1]))
			}
		case *quiet:
			fmt.Println(c.Kubeconfig)
		default:
			fmt.Printf(`
kind cluster %s is ready (%s).
  kubeconfig: %s
  registry:   %s (Knative's images: %s)
  ingress:    %s (Traefik; send the Service's host: curl -H "Host: hello.default.example.com" %s)

Use it:
  export KUBECONFIG=%s KUBE_CONFIG_PATH=%s
Stop it: make kind-down
`, c.Name, time.Since(started).Round(100*time.Millisecond), c.Kubeconfig, c.Registry, kind.KnativeRegistryTemplate(),
				c.IngressURL, c.IngressURL, c.Kubeconfig, c.Kubeconfig)
		}
	case "down":
		if err := kind.Down(ctx, opts, *engine); err != nil {
			fail(err)
		}
	case "build":
		b, err := sandbox.NewBuilder(os.Stderr)
		if err != nil {
			fail(err)
		}
		if _, err := b.BuildNodeTools(ctx); err != nil {
			fail(err)
		}
		if _, err := b.BuildKnativeImages(ctx); err != nil {
			fail(err)
		}
		if _, err := b.BuildTraefik(ctx); err != nil {
			fail(err)
		}
	default:
		usage()
	}
}

// shellQuote quotes s for a POSIX shell's eval.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func devNull() *os.File {
	f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return os.Stderr
	}
	return f
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: kind up|down|env|build [-name NAME]")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "kind:", err)
	os.Exit(1)
}
