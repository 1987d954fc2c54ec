// Command sandbox starts and stops local sandbox clusters (see internal/sandbox).
//
//	go run ./internal/cmd/sandbox up [-name NAME]     start or reuse; prints the kubeconfig path
//	go run ./internal/cmd/sandbox down [-name NAME]   stop it and remove its state
//	go run ./internal/cmd/sandbox build               only build and cache the binaries
//	go run ./internal/cmd/sandbox kubectl             print the path of the sandbox's kubectl (built if needed)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd := os.Args[1]
	flags := flag.NewFlagSet(cmd, flag.ExitOnError)
	name := flags.String("name", envOr("SANDBOX", "default"), "sandbox name; sandboxes with different names run side by side")
	quiet := flags.Bool("quiet", false, "print only the kubeconfig path (for scripts)")
	_ = flags.Parse(os.Args[2:])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts := sandbox.Options{Name: *name}

	switch cmd {
	case "up":
		started := time.Now()
		s, err := sandbox.Up(ctx, opts)
		if err != nil {
			fail(err)
		}
		if *quiet {
			fmt.Println(s.Kubeconfig)
			return
		}
		fmt.Printf(`
Sandbox %q is ready (%s).
  kubeconfig: %s
  logs:       %s

Use it:
  export KUBECONFIG=%s
  kubectl get nodes            # or: %s get nodes
  export KUBE_CONFIG_PATH=$KUBECONFIG   # the provider reads this
Stop it: make sandbox-down%s
`, s.Name, time.Since(started).Round(100*time.Millisecond), s.Kubeconfig, s.LogDir(), s.Kubeconfig, s.Binaries.Kubectl, nameSuffix(s.Name))
	case "down":
		if err := sandbox.Down(ctx, opts); err != nil {
			fail(err)
		}
		if !*quiet {
			fmt.Printf("sandbox %q stopped\n", *name)
		}
	case "build", "kubectl":
		b := &sandbox.Builder{CacheDir: sandbox.DefaultCacheDir(), Log: os.Stderr}
		if err := opts.Complete(); err != nil {
			fail(err)
		}
		b.ToolsDir = opts.ToolsDir
		bins, err := b.BuildCluster(ctx)
		if err != nil {
			fail(err)
		}
		if cmd == "kubectl" {
			fmt.Println(bins.Kubectl)
		}
	default:
		usage()
	}
}

func nameSuffix(name string) string {
	if name == "default" {
		return ""
	}
	return " SANDBOX=" + name
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: sandbox up|down|build|kubectl [-name NAME] [-quiet]")
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sandbox:", err)
	os.Exit(1)
}
