package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
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
