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
// its output appended to logFile. The pid file records the process's start
// time with its pid: a pid reused after the process ended (or after a
// reboot) is not mistaken for it.
func (s *Sandbox) StartProcess(name string, cmd *exec.Cmd, logFile string) error {
	if s.ProcessPID(name) > 0 {
		return fmt.Errorf("%s is already running in sandbox %q", name, s.Name)
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
	// Reaped when it exits while this process lives (a test), so that it
	// does not linger as a zombie; it outlives a command that exits first.
	go func() { _ = cmd.Wait() }()
	started, _, err := processStat(cmd.Process.Pid)
	if err != nil {
		return fmt.Errorf("%s exited as it started", name)
	}
	return os.WriteFile(s.pidFile(name), []byte(fmt.Sprintf("%d %s", cmd.Process.Pid, started)), 0o644)
}

// ProcessPID is the pid of the sandbox's running process name, or 0.
func (s *Sandbox) ProcessPID(name string) int {
	data, err := os.ReadFile(s.pidFile(name))
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0
	}
	pid, err := strconv.Atoi(fields[0])
	if err != nil || pid <= 0 {
		return 0
	}
	started, state, err := processStat(pid)
	if err != nil || state == "Z" || state == "X" {
		return 0
	}
	if len(fields) > 1 {
		if fields[1] != started {
			return 0
		}
		return pid
	}
	// A pid file of an earlier version holds the pid alone: the process is
	// ours if its command line names the sandbox's directory.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte(s.Dir)) {
		return 0
	}
	return pid
}

// processStat is a process's start time (clock ticks since boot) and state
// from /proc. Unlike its command line, which reads empty while the process
// is between fork and exec, both are there from the start.
func processStat(pid int) (started, state string, err error) {
	fields, err := statFields(pid)
	if err != nil {
		return "", "", err
	}
	return fields[19], fields[0], nil
}

// statFields are the fields of /proc/pid/stat after the command name,
// fields[0] being the state: at least 20 of them.
func statFields(pid int) ([]string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	// The command name in parentheses may hold spaces: fields count from the last ')'.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return nil, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return fields, nil
}

// CPUTimes is the CPU time (user and system) each running process of this
// sandbox has used so far, by executable name (kube-apiserver, etcd,
// autoscaler, ...): the control plane kwokctl runs and everything started
// with this sandbox's directory or kubeconfig on its command line.
func (s *Sandbox) CPUTimes() (map[string]time.Duration, error) {
	mine := []byte(s.Dir + string(filepath.Separator))
	times := map[string]time.Duration{}
	err := eachProcess(func(pid int, cmdline []byte) bool {
		if !bytes.Contains(cmdline, mine) {
			return true
		}
		used, err := processCPU(pid)
		if err != nil {
			return true // gone since it was listed
		}
		name := filepath.Base(string(bytes.SplitN(cmdline, []byte{0}, 2)[0]))
		times[name] += used
		return true
	})
	return times, err
}

// processCPU is the user and system time of pid, from /proc/pid/stat, in
// the kernel's USER_HZ ticks (100 a second on Linux).
func processCPU(pid int) (time.Duration, error) {
	fields, err := statFields(pid)
	if err != nil {
		return 0, err
	}
	var ticks int64
	for _, f := range fields[11:13] { // utime, stime
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100, nil
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

// eachProcess calls f with the pid and command line of each running process
// (zombies, whose command line is empty, left out) until f returns false.
func eachProcess(f func(pid int, cmdline []byte) (more bool)) error {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return err
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil || len(cmdline) == 0 {
			continue // gone, or a zombie
		}
		if !f(pid, cmdline) {
			return nil
		}
	}
	return nil
}
