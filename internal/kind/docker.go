package kind

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Docker is the project's own Docker engine: Debian's dockerd on a socket,
// data root and exec root of its own under the cache, so it neither needs nor
// touches a system Docker. Its default runtime is a runc wrapper that drops
// CAP_SYS_RESOURCE, which some machines (this one) lack in their bounding
// set: plain runc then refuses every privileged container, kind's nodes
// included ("unable to apply caps: operation not permitted").
type Docker struct {
	Dir    string // data, exec root, socket, pid file, log, wrapper
	Client string // the docker CLI of the same package as dockerd
	Log    io.Writer
}

// debianPackages the kind cluster needs on the machine, by a program (or
// file) each provides: the engine (with its iptables, containerd and runc),
// debootstrap and Debian's keys for the node's rootfs, and jq for the runc
// wrapper.
var debianPackages = map[string]string{"docker.io": "dockerd", "debootstrap": "debootstrap", "iptables": "iptables", "jq": "jq",
	"debian-archive-keyring": "/usr/share/keyrings/debian-archive-keyring.gpg"}

// ensurePackages installs the Debian packages whose program is missing (only
// those: a machine with another Docker engine keeps it).
func ensurePackages(ctx context.Context, log io.Writer) error {
	var missing []string
	for pkg, provides := range debianPackages {
		if strings.HasPrefix(provides, "/") && fileExists(provides) {
			continue
		}
		if _, err := exec.LookPath(provides); err != nil {
			missing = append(missing, pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	sort.Strings(missing)
	fmt.Fprintf(log, "installing Debian packages: %s\n", strings.Join(missing, " "))
	if err := run(ctx, log, nil, "apt-get", "update", "-qq"); err != nil {
		return err
	}
	return run(ctx, log, []string{"DEBIAN_FRONTEND=noninteractive"}, "apt-get", append([]string{"install", "-y", "-qq", "--no-install-recommends"}, missing...)...)
}

func (d *Docker) socket() string  { return filepath.Join(d.Dir, "docker.sock") }
func (d *Docker) pidFile() string { return filepath.Join(d.Dir, "dockerd.pid") }

// Host is the DOCKER_HOST of the engine.
func (d *Docker) Host() string { return "unix://" + d.socket() }

// Env is the environment for the docker CLI and kind.
func (d *Docker) Env() []string { return append(os.Environ(), "DOCKER_HOST="+d.Host()) }

// runcWrapper strips CAP_SYS_RESOURCE from the OCI spec (create/run) or
// process (exec) before the real runc applies it.
const runcWrapper = `#!/bin/bash
# Written by terraform-provider-knative's kind setup: runc without
# CAP_SYS_RESOURCE, which this machine's capability bounding set lacks.
REAL=$(PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v runc)
args=("$@"); cmd=""; bundle=""; procfile=""
for ((i=0; i<${#args[@]}; i++)); do
  a="${args[$i]}"
  case "$a" in
    create|run|exec) [ -z "$cmd" ] && cmd="$a" ;;
    --bundle|-b) bundle="${args[$((i+1))]}" ;;
    --bundle=*) bundle="${a#--bundle=}" ;;
    --process|-p) procfile="${args[$((i+1))]}" ;;
    --process=*) procfile="${a#--process=}" ;;
  esac
done
strip='def s: if type=="array" then map(select(.!="CAP_SYS_RESOURCE")) else . end;'
if [ "$cmd" = create ] || [ "$cmd" = run ]; then
  [ -z "$bundle" ] && bundle="$PWD"
  cfg="$bundle/config.json"
  if [ -f "$cfg" ]; then
    jq "$strip"' if .process.capabilities then .process.capabilities |= with_entries(.value |= s) else . end' "$cfg" > "$cfg.tmp" && mv "$cfg.tmp" "$cfg"
  fi
elif [ "$cmd" = exec ] && [ -n "$procfile" ] && [ -f "$procfile" ]; then
  jq "$strip"' if .capabilities then .capabilities |= with_entries(.value |= s) else . end' "$procfile" > "$procfile.tmp" && mv "$procfile.tmp" "$procfile"
fi
exec "$REAL" "$@"
`

// Start starts the engine unless it answers already, then blocks container
// egress. The egress rules go in before any container can start: a pod
// whose first connection races kube-proxy's rules goes out through the
// default route, and Docker's masquerade would carry it off the machine.
func (d *Docker) Start(ctx context.Context) error {
	if err := ensurePackages(ctx, d.Log); err != nil {
		return err
	}
	dockerd, err := exec.LookPath("dockerd")
	if err != nil {
		return err
	}
	if d.Client, err = dockerClient(dockerd); err != nil {
		return err
	}
	if err := os.MkdirAll(d.Dir, 0o755); err != nil {
		return err
	}
	// Before dockerd, which restarts the registry and the nodes as it starts.
	if err := blockEgress(ctx, d.Log); err != nil {
		return err
	}
	if d.answers(ctx) {
		return nil
	}
	wrapper := filepath.Join(d.Dir, "runc-wrapper")
	if err := os.WriteFile(wrapper, []byte(runcWrapper), 0o755); err != nil {
		return err
	}
	logFile, err := os.OpenFile(filepath.Join(d.Dir, "dockerd.log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(dockerd,
		"--data-root", filepath.Join(d.Dir, "data"), "--exec-root", filepath.Join(d.Dir, "exec"),
		"--pidfile", d.pidFile(), "--host", d.Host(),
		// No default bridge: every container of ours sits on the project's network.
		"--bridge", "none",
		"--add-runtime", "wrapped="+wrapper, "--default-runtime", "wrapped",
		"--storage-driver", "overlay2")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	fmt.Fprintf(d.Log, "starting dockerd (%s, log %s)\n", d.Host(), logFile.Name())
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting dockerd: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for !d.answers(ctx) {
		if time.Now().After(deadline) {
			return fmt.Errorf("dockerd did not answer on %s within 60s; see %s", d.Host(), logFile.Name())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

// dockerClient is the docker CLI of dockerd's package (Debian's is in
// /usr/bin, dockerd in /usr/sbin), whose API version the engine speaks.
func dockerClient(dockerd string) (string, error) {
	for _, p := range []string{filepath.Join(filepath.Dir(dockerd), "docker"), "/usr/bin/docker"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return exec.LookPath("docker")
}

func (d *Docker) answers(ctx context.Context) bool {
	if d.Client == "" {
		return false
	}
	cmd := exec.CommandContext(ctx, d.Client, "version", "--format", "{{.Server.Version}}")
	cmd.Env = d.Env()
	return cmd.Run() == nil
}

// Stop stops the engine (its containers stop with it).
func (d *Docker) Stop() {
	data, err := os.ReadFile(d.pidFile())
	if err != nil {
		return
	}
	var pid int
	if _, err := fmt.Sscanf(string(data), "%d", &pid); err != nil || pid <= 0 {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 150 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(200 * time.Millisecond)
	}
}

// Run runs the docker CLI against the engine and returns its output.
func (d *Docker) Run(ctx context.Context, args ...string) (string, error) {
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(ctx, d.Client, args...)
	cmd.Env = d.Env()
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// blockEgress makes sure nothing a container of the project's network sends
// leaves it, except to this host: DOCKER-USER, which Docker's FORWARD chain
// consults first, rejects TCP from the network's bridge to any other
// interface with a reset (so clients fail fast and retry instead of hanging)
// and drops the rest. Traffic between the containers and to this host is not
// forwarded, so it is untouched; other bridges and hosts' traffic is not
// matched. The rules go in before dockerd starts, which adds the jump to
// DOCKER-USER and never flushes it.
func blockEgress(ctx context.Context, log io.Writer) error {
	// dockerd creates DOCKER-USER as it starts; creating it first is harmless.
	_ = exec.CommandContext(ctx, "iptables", "-N", "DOCKER-USER").Run()
	// Inserted in reverse, so the REJECT ends up before the DROP.
	for _, rule := range [][]string{
		{"-i", networkBridge, "!", "-o", networkBridge, "-j", "DROP"},
		{"-i", networkBridge, "!", "-o", networkBridge, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"},
	} {
		if exec.CommandContext(ctx, "iptables", append([]string{"-C", "DOCKER-USER"}, rule...)...).Run() == nil {
			continue
		}
		if err := run(ctx, log, nil, "iptables", append([]string{"-I", "DOCKER-USER"}, rule...)...); err != nil {
			return fmt.Errorf("blocking container egress: %w", err)
		}
	}
	return nil
}

// run runs a command, its output to log.
func run(ctx context.Context, log io.Writer, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(log, &out), io.MultiWriter(log, &out)
	if err := cmd.Run(); err != nil {
		tail := out.String()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail)
	}
	return nil
}
