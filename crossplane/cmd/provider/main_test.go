package main

import (
	"flag"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	knative "github.com/tf-knative/terraform-provider-knative/internal/controller"
)

// TestHelp builds the provider and runs it with -h: its flags parse (no
// clash with the flags its libraries register) and are documented.
func TestHelp(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "provider")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "-h").CombinedOutput()
	if err != nil {
		t.Fatalf("provider -h: %v\n%s", err, out)
	}
	for _, flag := range []string{"-kubeconfig", "-poll", "-ready-poll", "-max-reconcile-rate", "-leader-election"} {
		if !strings.Contains(string(out), flag) {
			t.Errorf("provider -h does not document %s:\n%s", flag, out)
		}
	}
}

// With the target watches, the ready poll is a fallback unless set.
func TestReadyPoll(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		watch bool
		want  time.Duration
	}{
		{watch: true, want: knative.WatchedReadyPoll},
		{watch: false, want: knative.DefaultReadyPoll},
		{args: []string{"-ready-poll=5s"}, watch: true, want: 5 * time.Second},
		{args: []string{"-ready-poll=5s"}, watch: false, want: 5 * time.Second},
	} {
		flags := flag.NewFlagSet("provider", flag.ContinueOnError)
		readyPoll := flags.Duration("ready-poll", knative.DefaultReadyPoll, "")
		if err := flags.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if got := readyPollOf(flags, *readyPoll, tc.watch); got != tc.want {
			t.Errorf("%v with watches %v: ready poll %s, want %s", tc.args, tc.watch, got, tc.want)
		}
	}
}
