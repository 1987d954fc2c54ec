package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
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
	if s.ProcessPID(supervisorProcess) > 0 {
		return nil
	}
	b := s.Binaries
	cmd := exec.Command(b.KnativeSupervisor,
		"-kubeconfig", s.Kubeconfig, "-dir", s.Dir,
		"-controller", b.KnativeController, "-webhook", b.KnativeWebhook, "-autoscaler", b.KnativeAutoscaler)
	return s.StartProcess(supervisorProcess, cmd, filepath.Join(s.KnativeLogDir(), "supervisor.log"))
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
