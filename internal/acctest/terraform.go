package acctest

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6/tf6server"

	"github.com/tf-knative/terraform-provider-knative/provider"
)

// ProviderSource is the provider's address in configurations.
const ProviderSource = "registry.terraform.io/tf-knative/knative"

// Terraform runs the terraform CLI (TF_ACC_TERRAFORM_PATH) against a
// provider served in this process, as terraform-plugin-testing does, so a
// benchmark can time whole terraform commands and the provider's share of
// them in the same run.
type Terraform struct {
	Binary string
	Dir    string
	env    []string
}

// ServeTerraform serves server in-process until the benchmark ends and
// returns a terraform CLI for dir that reaches it (TF_REATTACH_PROVIDERS).
func ServeTerraform(tb testing.TB, dir string, server func() tfprotov6.ProviderServer) *Terraform {
	tb.Helper()
	binary := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if binary == "" {
		tb.Skip("TF_ACC_TERRAFORM_PATH is not set: make bench and make test find or build terraform")
	}
	provider.QuietLogsUnlessAsked() // as main does
	ctx, cancel := context.WithCancel(context.Background())
	reattach := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	go func() {
		_ = tf6server.Serve(ProviderSource, server, tf6server.WithDebug(ctx, reattach, closed), tf6server.WithoutLogStderrOverride())
	}()
	var config *plugin.ReattachConfig
	select {
	case config = <-reattach:
	case <-time.After(30 * time.Second):
		cancel()
		tb.Fatal("the provider did not start serving")
	}
	tb.Cleanup(func() {
		cancel()
		<-closed
	})
	value, err := json.Marshal(map[string]any{ProviderSource: map[string]any{
		"Protocol": string(config.Protocol), "ProtocolVersion": config.ProtocolVersion, "Pid": config.Pid, "Test": true,
		"Addr": map[string]string{"Network": config.Addr.Network(), "String": config.Addr.String()},
	}})
	if err != nil {
		tb.Fatal(err)
	}
	return &Terraform{Binary: binary, Dir: dir, env: append(os.Environ(), "TF_REATTACH_PROVIDERS="+string(value), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")}
}

// Run runs terraform with args in the directory and returns how long it took.
func (t *Terraform) Run(tb testing.TB, args ...string) time.Duration {
	tb.Helper()
	cmd := exec.Command(t.Binary, append(args[:1:1], append([]string{"-no-color"}, args[1:]...)...)...)
	cmd.Dir, cmd.Env = t.Dir, t.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		tb.Fatalf("terraform %v: %v\n%s", args, err, tail(out.String(), 3000))
	}
	return time.Since(start)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
