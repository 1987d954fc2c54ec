package kind

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/tf-knative/terraform-provider-knative/internal/sandbox"
)

// The node image: kind's node layout (its base image's files, from the kind
// module) on a Debian bookworm rootfs made with debootstrap, Debian's
// containerd and runc, kubelet, kubeadm and kubectl built from the module
// proxy, and the control plane's images built here and pre-loaded into the
// node's containerd, because kind skips kubeadm's preflight and nothing may
// be pulled from outside.

// debianSuite is the node's Debian release.
const debianSuite = "bookworm"

// nodePackages are installed into the node's rootfs by debootstrap.
var nodePackages = []string{
	"systemd", "systemd-sysv", "dbus", "containerd", "runc", "iptables", "containernetworking-plugins", "conntrack",
	"socat", "ethtool", "ebtables", "kmod", "mount", "ca-certificates", "jq", "procps", "iproute2", "curl",
	"util-linux", "libseccomp2", "pigz", "bash", "nftables", "netbase",
}

// Images the control plane runs, by the names kubeadm v1.37 asks for
// (`kubeadm config images list`) and the node's containerd pause image.
const (
	pauseImage   = "registry.k8s.io/pause:3.10.2"
	etcdImage    = "registry.k8s.io/etcd:3.7.0-0"
	corednsImage = "registry.k8s.io/coredns/coredns:" + sandbox.CoreDNSVersion
)

// cniConfig is the node's pod network: a bridge on the node's pod CIDR
// (kubeadm's podSubnet 10.244.0.0/16 gives the only node 10.244.0.0/24).
const cniConfig = `{ "cniVersion": "1.0.0", "name": "tfk-bridge",
  "plugins": [
    { "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": { "type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}] } },
    { "type": "portmap", "capabilities": {"portMappings": true} } ] }
`

// registryHosts is containerd's hosts.toml for a registry served over plain
// HTTP by the project's registry container.
func registryHosts() string {
	return fmt.Sprintf("server = \"http://%[1]s\"\n[host.\"http://%[1]s\"]\n  capabilities = [\"pull\", \"resolve\"]\n", RegistryAddress)
}

// nodeSetup runs in the rootfs (chroot) after kind's files are in: kind's
// base image steps for systemd in a container.
const nodeSetup = `set -e
find /lib/systemd/system/sysinit.target.wants/ -name "systemd-tmpfiles-setup.service" -delete
rm -f /lib/systemd/system/multi-user.target.wants/* /etc/systemd/system/*.wants/* /lib/systemd/system/local-fs.target.wants/* \
      /lib/systemd/system/sockets.target.wants/*udev* /lib/systemd/system/sockets.target.wants/*initctl* /lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >> /etc/systemd/journald.conf
systemctl enable kubelet.service containerd.service undo-mount-hacks.service
systemctl mask systemd-binfmt.service
mkdir -p /etc/kubernetes/manifests /opt/cni
ln -sfn /usr/lib/cni /opt/cni/bin
ln -sf /usr/bin/containerd /usr/local/bin/containerd
ctr oci spec | jq ".hooks.createContainer[.hooks.createContainer| length] |= . + {\"path\": \"/kind/bin/mount-product-files.sh\"}" | jq "del(.process.rlimits)" > /etc/containerd/cri-base.json
apt-get clean
rm -rf /var/lib/apt/lists/*
`

// nodeRecipe is everything that decides the node image besides the built
// binaries: a change to any of it makes a new image.
func nodeRecipe() string {
	return strings.Join([]string{sandbox.KubeVersion, sandbox.KindVersion, debianSuite, strings.Join(nodePackages, ","),
		cniConfig, registryHosts(), nodeSetup, pauseImage, etcdImage, corednsImage, "3"}, "\x00")
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:12]
}

// nodeImage returns the node image's tag, building it when the engine does
// not have it.
func (c *Cluster) nodeImage(ctx context.Context) (string, error) {
	kindModule, err := c.builder.KindModuleDir(ctx)
	if err != nil {
		return "", err
	}
	rootfs, err := c.rootfs(ctx, kindModule)
	if err != nil {
		return "", err
	}
	tools, err := c.nodeTools(ctx)
	if err != nil {
		return "", err
	}
	tag := "tfk/node:" + sandbox.KubeVersion + "-" + shortHash(nodeRecipe()+tools.Key)
	if _, err := c.docker.Run(ctx, "image", "inspect", "--format", "{{.Id}}", tag); err == nil {
		return tag, nil
	}
	fmt.Fprintf(c.log, "building the kind node image %s (first time on this machine)\n", tag)
	if err := os.MkdirAll(c.dir("tmp"), 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(c.dir("tmp"), "node-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)

	images := filepath.Join(work, "k8s-images.tar")
	if err := controlPlaneImages(rootfs, tools, images); err != nil {
		return "", err
	}
	base := "tfk/node-base:" + shortHash(nodeRecipe())
	if _, err := c.docker.Run(ctx, "image", "inspect", "--format", "{{.Id}}", base); err != nil {
		fmt.Fprintf(c.log, "importing the node rootfs as %s\n", base)
		tarball := filepath.Join(work, "rootfs.tar")
		if err := run(ctx, c.log, nil, "tar", "--numeric-owner", "-C", rootfs, "-cf", tarball, "."); err != nil {
			return "", err
		}
		if _, err := c.docker.Run(ctx, "import", "--change", "ENV container=docker",
			"--change", `ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]`, tarball, base); err != nil {
			return "", err
		}
		_ = os.Remove(tarball)
	}

	// The binaries go in and the images are imported into the node's
	// containerd in a container of the base image, committed as the node
	// image: containerd's content store is only written by containerd. No
	// /var volume, so the commit keeps /var/lib/containerd; --no-unpack,
	// because overlay on overlay cannot unpack there (CRI unpacks on first use).
	builder := "tfk-node-build"
	_, _ = c.docker.Run(ctx, "rm", "-f", builder)
	if _, err := c.docker.Run(ctx, "run", "-d", "--name", builder, "--privileged", "--network", "none",
		"--entrypoint", "sleep", base, "infinity"); err != nil {
		return "", err
	}
	defer func() { _, _ = c.docker.Run(context.WithoutCancel(ctx), "rm", "-f", builder) }()
	for _, bin := range []string{filepath.Join(tools.Node, "kubelet"), filepath.Join(tools.Node, "kubeadm"), filepath.Join(tools.Kube, "kubectl")} {
		if _, err := c.docker.Run(ctx, "cp", bin, builder+":/usr/bin/"+filepath.Base(bin)); err != nil {
			return "", err
		}
	}
	if _, err := c.docker.Run(ctx, "cp", images, builder+":/k8s-images.tar"); err != nil {
		return "", err
	}
	if _, err := c.docker.Run(ctx, "exec", builder, "bash", "-c", `set -e
mkdir -p /tmp; (containerd >/tmp/containerd.log 2>&1 &)
for i in $(seq 50); do ctr version >/dev/null 2>&1 && break; sleep 0.2; done
ctr -n k8s.io images import --no-unpack --all-platforms /k8s-images.tar
kill $(pidof containerd); sleep 1; rm -rf /k8s-images.tar /tmp/* /run/containerd`); err != nil {
		return "", err
	}
	if _, err := c.docker.Run(ctx, "stop", "-t", "1", builder); err != nil {
		return "", err
	}
	committed := tag + "-stage"
	if _, err := c.docker.Run(ctx, "commit", "--change", `ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]`,
		"--change", "CMD []", builder, committed); err != nil {
		return "", err
	}
	// systemd stops on SIGRTMIN+3, which `docker commit` cannot set.
	dockerfile := filepath.Join(work, "Dockerfile")
	if err := os.WriteFile(dockerfile, []byte("FROM "+committed+"\nSTOPSIGNAL SIGRTMIN+3\n"), 0o644); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, c.docker.Client, "build", "-q", "-t", tag, "-f", dockerfile, work)
	cmd.Env = append(c.docker.Env(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("docker build %s: %w: %s", tag, err, out)
	}
	_, _ = c.docker.Run(ctx, "rmi", committed)
	return tag, nil
}

// rootfs returns the node's rootfs directory: debootstrap's, with kind's
// base files and setup, cached by recipe.
func (c *Cluster) rootfs(ctx context.Context, kindModule string) (string, error) {
	dir := c.cacheDir("rootfs-" + shortHash(nodeRecipe()))
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	_ = os.RemoveAll(dir)
	mirror := debianMirror()
	fmt.Fprintf(c.log, "debootstrap %s into %s (from %s)\n", debianSuite, dir, mirror)
	if err := run(ctx, c.log, nil, "debootstrap", "--variant=minbase", "--include="+strings.Join(nodePackages, ","),
		debianSuite, dir, mirror); err != nil {
		return "", err
	}
	files := filepath.Join(kindModule, "images", "base", "files")
	copies := [][2]string{
		{"usr/local/bin/", "usr/local/bin/"}, {"kind/", "kind/"}, {"etc/crictl.yaml", "etc/crictl.yaml"},
		{"etc/containerd/config.toml", "etc/containerd/config.toml"}, {"etc/default/kubelet", "etc/default/kubelet"},
		{"etc/sysctl.d/", "etc/sysctl.d/"}, {"etc/systemd/system/", "etc/systemd/system/"},
	}
	for _, cp := range copies {
		src, dst := filepath.Join(files, cp[0]), filepath.Join(dir, cp[1])
		if strings.HasSuffix(cp[0], "/") {
			src += "/."
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return "", err
			}
		}
		if err := run(ctx, c.log, nil, "cp", "-R", "--no-preserve=ownership", src, dst); err != nil {
			return "", err
		}
	}
	// The module cache is read-only: make the copies writable and executable as kind's image has them.
	if err := run(ctx, c.log, nil, "chmod", "-R", "u+w,go+rX", filepath.Join(dir, "kind"), filepath.Join(dir, "etc/systemd/system"),
		filepath.Join(dir, "usr/local/bin"), filepath.Join(dir, "etc/containerd"), filepath.Join(dir, "etc/sysctl.d"),
		filepath.Join(dir, "etc/default/kubelet"), filepath.Join(dir, "etc/crictl.yaml")); err != nil {
		return "", err
	}
	programs, err := filepath.Glob(filepath.Join(dir, "usr/local/bin/*"))
	if err != nil {
		return "", err
	}
	kindPrograms, err := filepath.Glob(filepath.Join(dir, "kind/bin/*"))
	if err != nil {
		return "", err
	}
	for _, p := range append(programs, kindPrograms...) {
		if err := os.Chmod(p, 0o755); err != nil {
			return "", err
		}
	}
	if err := run(ctx, c.log, nil, "chroot", dir, "/bin/bash", "-c", nodeSetup); err != nil {
		return "", err
	}
	config := filepath.Join(dir, "etc/containerd/config.toml")
	data, err := os.ReadFile(config)
	if err != nil {
		return "", err
	}
	text := strings.Replace(string(data), "restrict_oom_score_adj = false", "restrict_oom_score_adj = true", 1)
	text = replaceLine(text, "sandbox_image = ", `  sandbox_image = "`+pauseImage+`"`)
	text += "\n[plugins.\"io.containerd.grpc.v1.cri\".registry]\n  config_path = \"/etc/containerd/certs.d\"\n"
	extra := map[string]string{
		"etc/containerd/config.toml":                                text,
		"etc/cni/net.d/10-bridge.conflist":                          cniConfig,
		"etc/containerd/certs.d/" + RegistryAddress + "/hosts.toml": registryHosts(),
		// Images the tests name under kind.local come from the project's registry too.
		"etc/containerd/certs.d/kind.local/hosts.toml": registryHosts(),
		"kind/version": sandbox.KubeVersion + "\n",
	}
	for name, content := range extra {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return "", err
		}
	}
	return dir, os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o644)
}

func replaceLine(text, prefix, line string) string {
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			lines[i] = line
		}
	}
	return strings.Join(lines, "\n")
}

// debianMirror is the Debian mirror for debootstrap: DEBIAN_MIRROR, or the
// one apt uses on this machine.
func debianMirror() string {
	if m := os.Getenv("DEBIAN_MIRROR"); m != "" {
		return m
	}
	for _, f := range []string{"/etc/apt/sources.list.d/debian.sources", "/etc/apt/sources.list"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		scanner := bufio.NewScanner(strings.NewReader(string(data)))
		for scanner.Scan() {
			fields := strings.Fields(scanner.Text())
			switch {
			case len(fields) >= 2 && fields[0] == "URIs:" && !strings.Contains(fields[1], "security"):
				return fields[1]
			case len(fields) >= 3 && fields[0] == "deb" && !strings.Contains(fields[1], "security"):
				return fields[1]
			}
		}
	}
	// Not a Debian machine (an Ubuntu CI runner): Debian's own mirror.
	return "http://deb.debian.org/debian"
}

// controlPlaneImages writes the images kubeadm's static pods, kube-proxy,
// CoreDNS and containerd's sandboxes run as one archive.
func controlPlaneImages(rootfs string, tools *sandbox.NodeTools, archive string) error {
	images := map[string]v1.Image{}
	pathEnv := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
	for _, bin := range []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler"} {
		files := baseFiles()
		files["/usr/local/bin/"+bin] = file{Source: filepath.Join(tools.Kube, bin), Mode: 0o755}
		img, err := imageOf(files, v1.Config{Entrypoint: []string{"/usr/local/bin/" + bin}, Env: pathEnv})
		if err != nil {
			return err
		}
		images["registry.k8s.io/"+bin+":"+sandbox.KubeVersion] = img
	}
	etcd, err := imageOf(map[string]file{"/usr/local/bin/etcd": {Source: tools.Etcd, Mode: 0o755}, "/tmp": {Dir: true, Mode: 0o1777}},
		v1.Config{Entrypoint: []string{"/usr/local/bin/etcd"}, Env: pathEnv})
	if err != nil {
		return err
	}
	images[etcdImage] = etcd
	pause, err := imageOf(map[string]file{"/pause": {Source: tools.Pause, Mode: 0o755}},
		v1.Config{Entrypoint: []string{"/pause"}, User: "65535:65535"})
	if err != nil {
		return err
	}
	images[pauseImage] = pause
	coreFiles := baseFiles()
	coreFiles["/coredns"] = file{Source: tools.CoreDNS, Mode: 0o755}
	coredns, err := imageOf(coreFiles, v1.Config{Entrypoint: []string{"/coredns"}})
	if err != nil {
		return err
	}
	images[corednsImage] = coredns
	proxyFiles, err := kubeProxyFiles(rootfs)
	if err != nil {
		return err
	}
	proxyFiles["/usr/local/bin/kube-proxy"] = file{Source: filepath.Join(tools.Node, "kube-proxy"), Mode: 0o755}
	proxy, err := imageOf(proxyFiles, v1.Config{Entrypoint: []string{"/usr/local/bin/kube-proxy"}, Env: pathEnv})
	if err != nil {
		return err
	}
	images["registry.k8s.io/kube-proxy:"+sandbox.KubeVersion] = proxy
	return writeDockerArchive(archive, images)
}

// kubeProxyFiles are iptables (nf_tables, as kind's entrypoint selects on the
// node), nft and conntrack from the node's rootfs, with every library they
// and each xtables extension load: an extension's missing libm once left
// kube-proxy unable to program any Service.
func kubeProxyFiles(rootfs string) (map[string]file, error) {
	files := map[string]file{
		"/lib": {Link: "usr/lib"}, "/lib64": {Link: "usr/lib64"}, "/bin": {Link: "usr/bin"}, "/sbin": {Link: "usr/sbin"},
		"/tmp": {Dir: true, Mode: 0o1777}, "/run": {Dir: true}, "/var/run": {Link: "../run"},
	}
	programs := []string{"/usr/sbin/xtables-nft-multi", "/usr/sbin/nft", "/usr/sbin/conntrack"}
	for _, p := range programs {
		files[p] = file{Source: filepath.Join(rootfs, p), Mode: 0o755}
	}
	for _, link := range []string{"iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore",
		"iptables-nft", "iptables-nft-save", "iptables-nft-restore", "ip6tables-nft", "ip6tables-nft-save", "ip6tables-nft-restore"} {
		files["/usr/sbin/"+link] = file{Link: "xtables-nft-multi"}
	}
	extensions, err := filepath.Glob(filepath.Join(rootfs, "usr/lib/x86_64-linux-gnu/xtables/*.so"))
	if err != nil {
		return nil, err
	}
	needs := append([]string{}, programs...)
	for _, ext := range extensions {
		p := strings.TrimPrefix(ext, rootfs)
		files[p] = file{Source: ext, Mode: 0o644}
		needs = append(needs, p)
	}
	for _, etc := range []string{"/etc/ethertypes", "/etc/protocols", "/etc/services", "/etc/passwd", "/etc/group"} {
		if _, err := os.Stat(filepath.Join(rootfs, etc)); err == nil {
			files[etc] = file{Source: filepath.Join(rootfs, etc), Mode: 0o644}
		}
	}
	for _, p := range needs {
		out, err := exec.Command("chroot", rootfs, "ldd", p).Output()
		if err != nil {
			return nil, fmt.Errorf("ldd %s in the node rootfs: %w", p, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			fields := strings.Fields(line)
			var lib string
			switch {
			case len(fields) >= 3 && fields[1] == "=>" && strings.HasPrefix(fields[2], "/"):
				lib = fields[2]
			case len(fields) >= 1 && strings.HasPrefix(fields[0], "/"):
				lib = fields[0]
			default:
				continue
			}
			// usr-merged: /lib and /lib64 are links into /usr.
			inImage := lib
			if strings.HasPrefix(lib, "/lib") {
				inImage = "/usr" + lib
			}
			// Resolved inside the rootfs: its links may be absolute.
			resolved, err := exec.Command("chroot", rootfs, "readlink", "-f", inImage).Output()
			if err != nil {
				return nil, fmt.Errorf("library %s of %s: %w", lib, p, err)
			}
			files[inImage] = file{Source: filepath.Join(rootfs, strings.TrimSpace(string(resolved))), Mode: 0o755}
		}
	}
	return files, nil
}

// forgetNodeImage removes the node image, its base and the rootfs, so the
// next Up makes them again (a cold create, for the benchmark).
func (c *Cluster) forgetNodeImage(ctx context.Context) error {
	out, err := c.docker.Run(ctx, "images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", "reference=tfk/node*")
	if err != nil {
		return err
	}
	for _, image := range strings.Fields(out) {
		if _, err := c.docker.Run(ctx, "rmi", "-f", image); err != nil {
			return err
		}
	}
	return os.RemoveAll(c.cacheDir("rootfs-" + shortHash(nodeRecipe())))
}
