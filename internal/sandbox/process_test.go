package sandbox

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestProcessPID: a started process is found by its pid file from its first
// moment (its command line reads empty until exec completes, which once made
// a just-started Crossplane look exited and left it running unstopped), is
// not found once stopped or when the pid in the file was reused by another
// process, and a process that exits on its own is not found either.
func TestProcessPID(t *testing.T) {
	s := &Sandbox{Name: "process-test", Dir: t.TempDir()}
	log := filepath.Join(s.Dir, "sleeper.log")

	for i := 0; i < 20; i++ {
		if err := s.StartProcess("sleeper", exec.Command("sleep", "60"), log); err != nil {
			t.Fatal(err)
		}
		if s.ProcessPID("sleeper") == 0 {
			t.Fatalf("start %d: the process just started is not found", i)
		}
		s.StopProcess("sleeper")
		if pid := s.ProcessPID("sleeper"); pid != 0 {
			t.Fatalf("start %d: the stopped process is still found (pid %d)", i, pid)
		}
	}

	if err := s.StartProcess("sleeper", exec.Command("sleep", "60"), log); err != nil {
		t.Fatal(err)
	}
	pid := s.ProcessPID("sleeper")
	// The same pid with another start time: a pid reused after a reboot.
	if err := os.WriteFile(s.pidFile("sleeper"), []byte(fmt.Sprintf("%d 1", pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := s.ProcessPID("sleeper"); got != 0 {
		t.Errorf("a pid file with another start time names pid %d", got)
	}
	if err := os.WriteFile(s.pidFile("sleeper"), []byte(fmt.Sprint(pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := s.ProcessPID("sleeper"); got != 0 {
		t.Errorf("a pid-only file of a process whose command line does not name the sandbox names pid %d", got)
	}
	s.StopProcess("sleeper")
	_ = exec.Command("kill", fmt.Sprint(pid)).Run()

	if err := s.StartProcess("short", exec.Command("true"), log); err != nil && err.Error() != "short exited as it started" {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.ProcessPID("short") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a process that exited is still found")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCPUTimes: a busy process naming the sandbox's directory is counted
// under its executable's name, with no more CPU than the time it has run; a
// busy process that does not name it, and a sandbox whose name only begins
// like this one's, are not.
func TestCPUTimes(t *testing.T) {
	s := &Sandbox{Name: "cpu-test", Dir: filepath.Join(t.TempDir(), "cpu")}
	busy := func(arg string) {
		cmd := exec.Command("sh", "-c", "while :; do :; done", arg)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	}
	started := time.Now()
	busy(filepath.Join(s.Dir, "mine"))
	busy(filepath.Join(s.Dir+"-b", "another sandbox's"))

	deadline := time.Now().Add(30 * time.Second)
	for {
		times, err := s.CPUTimes()
		if err != nil {
			t.Fatal(err)
		}
		if len(times) > 1 {
			t.Fatalf("counted processes that are not the sandbox's: %v", times)
		}
		if used := times["sh"]; used >= 200*time.Millisecond {
			// USER_HZ ticks: one of slack.
			if ran := time.Since(started); used > ran+10*time.Millisecond {
				t.Fatalf("%s of CPU in %s of a single-threaded process", used, ran)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the busy process has %s of CPU after 30 s (%v)", times["sh"], times)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
