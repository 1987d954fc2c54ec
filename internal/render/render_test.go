// Package render_test renders every example Composition with its example App
// through the crossplane CLI's `crossplane render`, the way Crossplane users
// check Compositions in CI: the functions run as local processes (the
// Development runtime of render), no cluster is involved, and the output is
// compared with a golden file in testdata/ (go test ./internal/render -update
// writes them). A Composition change that breaks composing fails here in
// seconds.
package render_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
)

var update = flag.Bool("update", false, "write the golden files")

const examples = "../../examples/crossplane/app"

// functions are the composition functions, by the Function name the
// Compositions use, with how to build them.
var functions = map[string]func(ctx context.Context, b *sandbox.Builder, dir string) (string, error){
	"crossplane-contrib-function-patch-and-transform": upstream(sandbox.PatchAndTransform),
	"crossplane-contrib-function-auto-ready":          upstream(sandbox.AutoReady),
	"tf-knative-function-knative-app": func(ctx context.Context, _ *sandbox.Builder, dir string) (string, error) {
		out := filepath.Join(dir, "function-knative-app")
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "../../crossplane/cmd/function-knative-app")
		if data, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("%w\n%s", err, data)
		}
		return out, nil
	},
}

func upstream(f sandbox.UpstreamFunction) func(ctx context.Context, b *sandbox.Builder, dir string) (string, error) {
	return func(ctx context.Context, b *sandbox.Builder, _ string) (string, error) {
		binary, _, err := b.BuildFunction(ctx, f)
		return binary, err
	}
}

func TestRenderExampleCompositions(t *testing.T) {
	// No deadline of our own: a first run builds the crossplane CLI and the
	// upstream functions, which on two cores shared with other packages'
	// builds takes longer than any fixed guess (go test's -timeout bounds
	// it); each render has its own --timeout.
	ctx := t.Context()
	builder, err := sandbox.NewBuilder(testLog{t})
	if err != nil {
		t.Fatal(err)
	}
	if testing.Short() && !builder.Cached(sandbox.PatchAndTransform, sandbox.AutoReady) {
		t.Skip("-short: the crossplane CLI and the upstream functions are not built on this machine yet " +
			"(make test builds them once, a few minutes; later runs take seconds)")
	}
	crank, err := builder.BuildCrossplaneCLI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	functionsFile := startFunctions(ctx, t, builder, dir)

	for _, tc := range []struct {
		name, composition, xr string
		observed              []string // testdata files of observed composed resources
	}{
		// The default Composition: function-patch-and-transform + function-auto-ready.
		{name: "pt-new", composition: "composition.yaml", xr: "app.yaml"},
		{name: "pt-ready", composition: "composition.yaml", xr: "testdata/app-composed.yaml", observed: []string{"observed-pt.yaml"}},
		{name: "pt-no-domain", composition: "composition.yaml", xr: "testdata/app-no-domain.yaml"},
		// The alternative: function-knative-app.
		{name: "function-new", composition: "composition-function.yaml", xr: "app-function.yaml"},
		{name: "function-ready", composition: "composition-function.yaml", xr: "app-function.yaml", observed: []string{"observed-function.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			xr := filepath.Join(examples, tc.xr)
			if strings.HasPrefix(tc.xr, "testdata/") {
				xr = tc.xr
			}
			args := []string{"render", xr, filepath.Join(examples, tc.composition), functionsFile,
				"--xrd", filepath.Join(examples, "definition.yaml"), "--include-function-results", "--timeout", "30s"}
			for _, o := range tc.observed {
				args = append(args, "--observed-resources", filepath.Join("testdata", o))
			}
			var stdout, stderr bytes.Buffer
			cmd := exec.CommandContext(ctx, crank, args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("crossplane %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			got := stdout.String()
			golden := filepath.Join("testdata", tc.name+".golden.yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./internal/render -update writes it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("crossplane render of %s with %s differs from %s (-want +got); if the change is meant, go test ./internal/render -update:\n%s",
					tc.xr, tc.composition, golden, diff)
			}
		})
	}
}

// startFunctions runs every function as a local gRPC server without TLS and
// writes the Functions file that points render at them.
func startFunctions(ctx context.Context, t *testing.T, b *sandbox.Builder, dir string) string {
	t.Helper()
	var manifest strings.Builder
	for name, build := range functions {
		binary, err := build(ctx, b, dir)
		if err != nil {
			t.Fatalf("building %s: %v", name, err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		address := l.Addr().String()
		l.Close()
		cmd := exec.Command(binary, "--insecure", "--address", address)
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("%s's log:\n%s", name, log.String())
			}
		})
		waitListening(t, address)
		fmt.Fprintf(&manifest, `---
apiVersion: pkg.crossplane.io/v1
kind: Function
metadata:
  name: %s
  annotations:
    render.crossplane.io/runtime: Development
    render.crossplane.io/runtime-development-target: %s
spec:
  package: example.invalid/%s:v0.0.0
`, name, address, name)
	}
	path := filepath.Join(dir, "functions.yaml")
	if err := os.WriteFile(path, []byte(manifest.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func waitListening(t *testing.T, address string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", address)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s: %v", address, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
