// Command sandbox starts and stops local sandbox clusters (see internal/sandbox).
//
//	go run ./internal/cmd/sandbox up [-name NAME]     start or reuse; prints the kubeconfig path
//	go run ./internal/cmd/sandbox down [-name NAME]   stop it and remove its state
//	go run ./internal/cmd/sandbox build [-all]        only build and cache the cluster's binaries
//	                                                  (-all: also Knative, Crossplane and the tests' tools)
//	go run ./internal/cmd/sandbox kubectl             print the path of the sandbox's kubectl (built if needed)
//	go run ./internal/cmd/sandbox crossplane          run Crossplane core in the sandbox (started if needed)
//	go run ./internal/cmd/sandbox publish [-version V]  build the Crossplane packages, push them to the
//	                                                  sandbox's registry, point their homes there (ImageConfigs)
//	go run ./internal/cmd/sandbox packages            run the installed providers and functions (the External
//	                                                  package runtime) until every package is healthy
//	go run ./internal/cmd/sandbox spawn -process NAME -- COMMAND [ARGS]
//	                                                  run a command in the background until the sandbox stops
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
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
	process := flags.String("process", "", "spawn: the name of the background process")
	version := flags.String("version", "v0.1.0", "publish: the version the packages are tagged with")
	all := flags.Bool("all", false, "build: everything the sandbox and the tests run, not only the cluster")
	timeout := flags.Duration("timeout", 10*time.Minute, "packages: how long to wait for the packages to be healthy")
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
	case "crossplane":
		x, err := startCrossplane(ctx, opts)
		if err != nil {
			fail(err)
		}
		if !*quiet {
			fmt.Printf("Crossplane %s runs in sandbox %q (log: %s)\n", sandbox.CrossplaneVersion, *name, x.LogFile)
		}
	case "publish":
		x, err := startCrossplane(ctx, opts)
		if err != nil {
			fail(err)
		}
		registry, err := x.PublishPackages(ctx, *version)
		if err != nil {
			fail(err)
		}
		if *quiet {
			fmt.Println(registry)
		} else {
			fmt.Printf("the packages (%s) are in the sandbox's registry %s\n", *version, registry)
		}
	case "packages":
		x, err := startCrossplane(ctx, opts)
		if err != nil {
			fail(err)
		}
		if err := x.RunPackages(ctx, *timeout, nil); err != nil {
			fail(err)
		}
		if !*quiet {
			fmt.Printf("every package in sandbox %q is healthy\n", *name)
		}
	case "spawn":
		if *process == "" || flags.NArg() == 0 {
			usage()
		}
		s, err := sandbox.Up(ctx, opts)
		if err != nil {
			fail(err)
		}
		s.StopProcess(*process)
		args := flags.Args()
		logFile := filepath.Join(s.Dir, "logs", *process+".log")
		if err := s.StartProcess(*process, exec.Command(args[0], args[1:]...), logFile); err != nil {
			fail(err)
		}
		if !*quiet {
			fmt.Printf("%s runs in sandbox %q (log: %s)\n", *process, *name, logFile)
		}
	case "build", "kubectl":
		b := &sandbox.Builder{CacheDir: sandbox.DefaultCacheDir(), Log: os.Stderr}
		if err := opts.Complete(); err != nil {
			fail(err)
		}
		b.ToolsDir = opts.ToolsDir
		if *all && cmd == "build" {
			if err := b.BuildAll(ctx); err != nil {
				fail(err)
			}
			return
		}
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

func startCrossplane(ctx context.Context, opts sandbox.Options) (*sandbox.Crossplane, error) {
	s, err := sandbox.Up(ctx, opts)
	if err != nil {
		return nil, err
	}
	return s.StartCrossplane(ctx)
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
	fmt.Fprint(os.Stderr, `usage: sandbox up|down|build|kubectl|crossplane [-name NAME] [-quiet] [-all]
       sandbox publish [-name NAME] [-version V] | packages [-name NAME] [-timeout D]
       sandbox spawn [-name NAME] -process NAME -- COMMAND [ARGS]
`)
	os.Exit(2)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sandbox:", err)
	os.Exit(1)
}
