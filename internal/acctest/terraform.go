package acctest

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/tf-knative/terraform-provider-knative/provider"
)

// providerSource is the provider's address for the CLI that runs:
// configurations name it "tf-knative/knative", which OpenTofu resolves in its
// own registry (TF_ACC_PROVIDER_HOST, as terraform-plugin-testing reads it).
func providerSource() string {
	return cmp.Or(os.Getenv("TF_ACC_PROVIDER_HOST"), "registry.terraform.io") + "/tf-knative/knative"
}

// Terraform runs the terraform CLI (TF_ACC_TERRAFORM_PATH, else terraform on
// PATH) in a directory with an environment: against a provider built as a
// binary (the scale test) or served in this process (ServeTerraform), so a
// test or benchmark can time whole terraform commands.
type Terraform struct {
	Binary string
	Dir    string
	Env    []string
	// LastCPU is the CPU time (user and system) of the last command's
	// terraform process.
	LastCPU time.Duration
	// serve, when set, serves a provider for one command and returns the
	// environment that reaches it and what stops it.
	serve func() (env string, stop func())
}

// NewTerraform is the CLI in dir, with env added to this process's.
func NewTerraform(tb testing.TB, dir string, env ...string) *Terraform {
	tb.Helper()
	binary := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if binary == "" {
		var err error
		if binary, err = exec.LookPath("terraform"); err != nil {
			tb.Skip("no terraform binary: set TF_ACC_TERRAFORM_PATH (make test does) or put terraform on PATH")
		}
	}
	return &Terraform{Binary: binary, Dir: dir, Env: append(os.Environ(), append([]string{"TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1"}, env...)...)}
}

// ServeTerraform returns a terraform CLI for dir that reaches a provider
// served in this process (TF_REATTACH_PROVIDERS): a new one from server for
// each command, as terraform starts a new provider process for each, so what
// a provider learns in one command (the configurations it validated, say)
// does not carry over to the next.
func ServeTerraform(tb testing.TB, dir string, server func() tfprotov6.ProviderServer) *Terraform {
	tb.Helper()
	tf := NewTerraform(tb, dir)
	provider.QuietLogsUnlessAsked() // as main does
	tf.serve = func() (string, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		reattach := make(chan *plugin.ReattachConfig, 1)
		closed := make(chan struct{})
		go func() {
			_ = tf6server.Serve(providerSource(), server, tf6server.WithDebug(ctx, reattach, closed), tf6server.WithoutLogStderrOverride(),
				// go-plugin's own lines would interleave with the benchmark's results.
				tf6server.WithGoPluginLogger(hclog.NewNullLogger()))
		}()
		stop := func() {
			cancel()
			<-closed
		}
		var config *plugin.ReattachConfig
		select {
		case config = <-reattach:
		case <-time.After(30 * time.Second):
			cancel()
			tb.Fatal("the provider did not start serving")
		}
		value, err := json.Marshal(map[string]any{providerSource(): map[string]any{
			"Protocol": string(config.Protocol), "ProtocolVersion": config.ProtocolVersion, "Pid": config.Pid, "Test": true,
			"Addr": map[string]string{"Network": config.Addr.Network(), "String": config.Addr.String()},
		}})
		if err != nil {
			stop()
			tb.Fatal(err)
		}
		return "TF_REATTACH_PROVIDERS=" + string(value), stop
	}
	return tf
}

// Run runs terraform with args in the directory, fails tb if it fails (a
// plan with -detailed-exitcode fails on changes too: exit code 2), and
// returns how long it took.
func (t *Terraform) Run(tb testing.TB, args ...string) time.Duration {
	tb.Helper()
	cmd := exec.Command(t.Binary, append(args[:1:1], append([]string{"-no-color"}, args[1:]...)...)...)
	cmd.Dir, cmd.Env = t.Dir, t.Env
	if t.serve != nil {
		env, stop := t.serve()
		defer stop()
		cmd.Env = append(slices.Clip(t.Env), env)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if err != nil {
		tb.Fatalf("terraform %s: %v\n%s", strings.Join(args, " "), err, tail(out.String(), 6000))
	}
	t.LastCPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return took
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
