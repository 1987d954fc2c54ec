package sandbox

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The supervisor (tools/knative/cmd/supervisor) runs Knative Serving's own
// controller, webhook and autoscaler as local processes whenever the runtime is
// installed in the sandbox, and stands in for Kourier. It runs detached, in
// its own process group, so it outlives the command that started the sandbox.

func (s *Sandbox) supervisorPIDFile() string { return filepath.Join(s.Dir, "supervisor.pid") }

// KnativeLogDir holds the logs of the supervisor and of Knative's processes.
func (s *Sandbox) KnativeLogDir() string { return filepath.Join(s.Dir, "logs") }

func (s *Sandbox) ensureSupervisor() error {
	if pid := s.supervisorPID(); pid > 0 {
		return nil
	}
	if err := os.MkdirAll(s.KnativeLogDir(), 0o755); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(s.KnativeLogDir(), "supervisor.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	b := s.Binaries
	cmd := exec.Command(b.KnativeSupervisor,
		"-kubeconfig", s.Kubeconfig, "-dir", s.Dir,
		"-controller", b.KnativeController, "-webhook", b.KnativeWebhook, "-autoscaler", b.KnativeAutoscaler)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the Knative supervisor: %w", err)
	}
	if err := os.WriteFile(s.supervisorPIDFile(), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return err
	}
	return cmd.Process.Release()
}

// supervisorPID is the pid of this sandbox's running supervisor, or 0.
func (s *Sandbox) supervisorPID() int {
	data, err := os.ReadFile(s.supervisorPIDFile())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	// The pid may have been reused after a reboot: check it is our supervisor.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(s.Kubeconfig)) {
		return 0
	}
	return pid
}

// stopSupervisor stops the supervisor and, with its process group, Knative's processes.
func (s *Sandbox) stopSupervisor() {
	pid := s.supervisorPID()
	if pid == 0 {
		return
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	for i := 0; i < 150 && s.supervisorPID() != 0; i++ {
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = os.Remove(s.supervisorPIDFile())
}
