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

// Background processes of a sandbox (Knative's supervisor, Crossplane core,
// composition functions, a provider) run detached, in process groups of their
// own, so they outlive the command that started them; a pid file per process
// in the sandbox's directory lets a later command find and stop them, and
// Down stops them all.

func (s *Sandbox) pidFile(name string) string { return filepath.Join(s.Dir, "pids", name+".pid") }

// StartProcess starts cmd in the background as the sandbox's process name,
// its output appended to logFile. cmd's command line must mention the
// sandbox's directory (a flag or a path under it): that is how a pid left by a
// reboot is told from a live process of this sandbox.
func (s *Sandbox) StartProcess(name string, cmd *exec.Cmd, logFile string) error {
	if s.ProcessPID(name) > 0 {
		return fmt.Errorf("%s is already running in sandbox %q", name, s.Name)
	}
	if !strings.Contains(strings.Join(cmd.Args, " "), s.Dir) {
		return fmt.Errorf("the command line of %s does not mention the sandbox directory %s", name, s.Dir)
	}
	for _, dir := range []string{filepath.Dir(s.pidFile(name)), filepath.Dir(logFile)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	log, err := os.OpenFile(logFile, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	if err := os.WriteFile(s.pidFile(name), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return err
	}
	return cmd.Process.Release()
}

// ProcessPID is the pid of the sandbox's running process name, or 0.
func (s *Sandbox) ProcessPID(name string) int {
	data, err := os.ReadFile(s.pidFile(name))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(s.Dir)) {
		return 0
	}
	return pid
}

// StopProcess stops the process name and its process group: SIGTERM, then
// SIGKILL after 15 seconds.
func (s *Sandbox) StopProcess(name string) {
	pid := s.ProcessPID(name)
	if pid != 0 {
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		for i := 0; i < 150 && s.ProcessPID(name) != 0; i++ {
			time.Sleep(100 * time.Millisecond)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	_ = os.Remove(s.pidFile(name))
}

// stopProcesses stops every background process of the sandbox.
func (s *Sandbox) stopProcesses() {
	files, _ := filepath.Glob(s.pidFile("*"))
	for _, f := range files {
		s.StopProcess(strings.TrimSuffix(filepath.Base(f), ".pid"))
	}
}
