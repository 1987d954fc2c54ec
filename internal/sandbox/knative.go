package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// The supervisor (tools/knative/cmd/supervisor) runs Knative Serving's own
// controller, webhook and autoscaler as local processes whenever the runtime is
// installed in the sandbox, and stands in for Kourier. It runs detached, in
// its own process group, so it outlives the command that started the sandbox.

const supervisorProcess = "knative-supervisor"

// KnativeLogDir holds the logs of the supervisor and of Knative's processes.
func (s *Sandbox) KnativeLogDir() string { return filepath.Join(s.Dir, "logs") }

func (s *Sandbox) ensureSupervisor() error {
	// Sandboxes started by earlier versions kept the pid here.
	if legacy := filepath.Join(s.Dir, "supervisor.pid"); fileExists(legacy) {
		_ = os.MkdirAll(filepath.Dir(s.pidFile(supervisorProcess)), 0o755)
		_ = os.Rename(legacy, s.pidFile(supervisorProcess))
	}
	b := s.Binaries
	if pid := s.ProcessPID(supervisorProcess); pid > 0 {
		// A sandbox kept running across a rebuild of the Knative tools (their
		// cache is keyed by content) gets the new supervisor and processes.
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil || exe == b.KnativeSupervisor {
			return nil
		}
		s.StopProcess(supervisorProcess)
	}
	cmd := exec.Command(b.KnativeSupervisor,
		"-kubeconfig", s.Kubeconfig, "-dir", s.Dir,
		"-controller", b.KnativeController, "-webhook", b.KnativeWebhook, "-autoscaler", b.KnativeAutoscaler)
	return s.StartProcess(supervisorProcess, cmd, filepath.Join(s.KnativeLogDir(), "supervisor.log"))
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// KnativePID is the pid of the sandbox's running Knative component
// ("controller", "webhook", "autoscaler"), or 0.
func (s *Sandbox) KnativePID(component string) int {
	found := 0
	_ = eachProcess(func(pid int, cmdline []byte) bool {
		args := bytes.Split(cmdline, []byte{0})
		if filepath.Base(string(args[0])) == component && bytes.Contains(cmdline, []byte(s.Kubeconfig)) {
			found = pid
		}
		return found == 0
	})
	return found
}

// PauseKnative stops a Knative component until ResumeKnative, for tests of
// what happens without it (the webhook down: admission fails; the
// controller down: nothing is reconciled). It returns once the process is
// gone.
func (s *Sandbox) PauseKnative(component string) error {
	if err := os.MkdirAll(filepath.Join(s.Dir, "paused"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(s.Dir, "paused", component), nil, 0o644); err != nil {
		return err
	}
	return s.waitKnative(component, false)
}

// ResumeKnative lets the supervisor start the component again and returns
// once it runs.
func (s *Sandbox) ResumeKnative(component string) error {
	if err := os.Remove(filepath.Join(s.Dir, "paused", component)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return s.waitKnative(component, true)
}

func (s *Sandbox) waitKnative(component string, running bool) error {
	for deadline := time.Now().Add(45 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if (s.KnativePID(component) != 0) == running {
			return nil
		}
	}
	return fmt.Errorf("the Knative %s did not %s (supervisor log in %s)", component, map[bool]string{true: "start", false: "stop"}[running], s.KnativeLogDir())
}
