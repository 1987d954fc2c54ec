package sandbox

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Crossplane core runs in a sandbox as a local process, the way Knative's
// controllers do: built from the Go module proxy (tools/crossplane), its CRDs
// and TLS secrets installed by its own `crossplane core init`, and started
// with `crossplane core start --package-runtime External`. Composition
// functions run as local gRPC servers. What it takes for Crossplane to reach
// a function outside the cluster:
//
//   - Packages come from the sandbox's own OCI registry (packages.go).
//   - With the External package runtime, Crossplane runs no Deployment or
//     Service for a provider or function and leaves the revision's runtime
//     (and a function's status.endpoint) to whoever runs it: here the sandbox
//     (RunPackages) sets it to the function's loopback address
//     (dns:///127.0.0.1:port).
//   - Crossplane always talks mTLS to functions, with the client certificate
//     `core init` made (Secret crossplane-tls-client). The function serves a
//     certificate for 127.0.0.1 signed by the same root CA (Secret
//     crossplane-root-ca) and requires Crossplane's client certificate.

// CrossplaneVersion is the Crossplane core the sandbox runs
// (github.com/crossplane/crossplane/v2).
const CrossplaneVersion = "v2.4.0"

// CrossplaneNamespace is Crossplane's own namespace in the sandbox.
const CrossplaneNamespace = "crossplane-system"

const (
	crossplaneProcess     = "crossplane"
	functionProcessPrefix = "function-"
	providerProcessPrefix = "provider-"
)

var crossplaneTool = tool{module: "crossplane", version: CrossplaneVersion,
	ldflags:  "-s -w -X github.com/crossplane/crossplane-runtime/v2/pkg/version.version=" + CrossplaneVersion,
	packages: []string{"github.com/crossplane/crossplane/v2/cmd/crossplane"}}

var functionRevisions = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1", Resource: "functionrevisions"}
var functions = schema.GroupVersionResource{Group: "pkg.crossplane.io", Version: "v1", Resource: "functions"}

// Crossplane is Crossplane core running in a sandbox.
type Crossplane struct {
	s   *Sandbox
	dir string
	// FunctionCertsDir holds what a composition function serves mTLS with:
	// tls.crt and tls.key for 127.0.0.1, and ca.crt, the CA of Crossplane's
	// client certificate (function-sdk-go's --tls-certs-dir).
	FunctionCertsDir string
	// LogFile is Crossplane core's log.
	LogFile string
}

// BuildCrossplane builds (or finds in the cache) Crossplane core, and copies
// its CRDs beside it.
func (b *Builder) BuildCrossplane(ctx context.Context) (binary, crds string, err error) {
	dir, err := b.build(ctx, &crossplaneTool)
	if err != nil {
		return "", "", err
	}
	crds = filepath.Join(dir, "crds")
	if !fileExists(crds) {
		out, err := goCommand(ctx, filepath.Join(b.ToolsDir, crossplaneTool.module), "list", "-m", "-f", "{{.Dir}}", "github.com/crossplane/crossplane/v2")
		if err != nil {
			return "", "", err
		}
		if err := os.CopyFS(crds+".tmp", os.DirFS(filepath.Join(out, "cluster", "crds"))); err != nil {
			return "", "", fmt.Errorf("copying Crossplane's CRDs: %w", err)
		}
		if err := os.Rename(crds+".tmp", crds); err != nil {
			return "", "", err
		}
	}
	return filepath.Join(dir, "crossplane"), crds, nil
}

// StartCrossplane runs Crossplane core in the sandbox, or returns the one
// already running there.
func (s *Sandbox) StartCrossplane(ctx context.Context) (*Crossplane, error) {
	dir := filepath.Join(s.Dir, "crossplane")
	x := &Crossplane{s: s, dir: dir, FunctionCertsDir: filepath.Join(dir, "function-certs"), LogFile: filepath.Join(dir, "crossplane.log")}
	if s.ProcessPID(crossplaneProcess) > 0 {
		return x, nil
	}
	builder := &Builder{ToolsDir: s.opts.ToolsDir, CacheDir: s.opts.CacheDir, Log: s.opts.Log}
	binary, crds, err := builder.BuildCrossplane(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := s.RESTConfig()
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "xpkg-cache"), 0o755); err != nil {
		return nil, err
	}
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: CrossplaneNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, err
	}
	env := append(os.Environ(), "KUBECONFIG="+s.Kubeconfig, "POD_NAMESPACE="+CrossplaneNamespace)

	// core init installs the CRDs and makes the root CA and the client
	// certificate. Its later steps write objects of the CRDs its first step
	// made, which fails until the API server serves them: it is idempotent,
	// run it again.
	for attempt := 1; ; attempt++ {
		initCmd := exec.CommandContext(ctx, binary, "core", "init")
		initCmd.Env = append(slices.Clip(env), "CRDS_PATH="+crds, "WEBHOOK_ENABLED=false",
			"TLS_CA_SECRET_NAME=crossplane-root-ca", "TLS_CLIENT_SECRET_NAME=crossplane-tls-client")
		out, err := initCmd.CombinedOutput()
		_ = os.WriteFile(filepath.Join(dir, "init.log"), out, 0o644)
		if err == nil {
			break
		}
		if attempt == 10 || ctx.Err() != nil {
			return nil, fmt.Errorf("crossplane core init: %w (log in %s)", err, filepath.Join(dir, "init.log"))
		}
		time.Sleep(time.Second)
	}
	if err := x.writeCertificates(ctx, client); err != nil {
		return nil, err
	}

	// core start sets up controllers for the kinds init installed; under load
	// the API server serves them a moment after init returns.
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		for _, gv := range []string{"apiextensions.crossplane.io/v2", "pkg.crossplane.io/v1", "protection.crossplane.io/v1beta1"} {
			if _, err := client.Discovery().ServerResourcesForGroupVersion(gv); err != nil {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("the API server does not serve Crossplane's kinds after core init: %w", err)
	}
	// A port taken between the probe and Crossplane's bind makes it exit:
	// start again on other ports.
	for attempt := 1; ; attempt++ {
		err := x.start(ctx, binary, env)
		if err == nil {
			return x, nil
		}
		if attempt == 3 || ctx.Err() != nil {
			return nil, err
		}
		fmt.Fprintf(s.opts.Log, "%v; starting it again\n", err)
	}
}

// start runs core start and waits for its readiness probe.
func (x *Crossplane) start(ctx context.Context, binary string, env []string) error {
	s, dir := x.s, x.dir
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	start := exec.Command(binary, "core", "start",
		"--package-runtime", "External",
		"--enable-webhooks=false",
		"--xpkg-cache-dir", filepath.Join(dir, "xpkg-cache"),
		"--xfn-cache-dir", filepath.Join(dir, "xfn-cache"),
		"--tls-client-certs-dir", filepath.Join(dir, "client-certs"),
		"--metrics-port", strconv.Itoa(ports[0]),
		"--health-probe-port", strconv.Itoa(ports[1]),
		"--webhook-port", strconv.Itoa(ports[2]))
	start.Env = env
	if err := s.StartProcess(crossplaneProcess, start, x.LogFile); err != nil {
		return err
	}
	readyz := fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[1])
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		if s.ProcessPID(crossplaneProcess) == 0 {
			return false, errors.New("it exited")
		}
		resp, err := http.Get(readyz)
		if err != nil {
			return false, nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil {
		s.StopProcess(crossplaneProcess)
		return fmt.Errorf("Crossplane core did not become ready (%w); the end of its log (%s):\n%s", err, x.LogFile, logTail(x.LogFile, 15))
	}
	return nil
}

// logTail is the last n lines of a log file.
func logTail(path string, n int) string {
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// StopCrossplane stops Crossplane core and the packages' runtimes the
// sandbox runs; what they installed stays.
func (s *Sandbox) StopCrossplane() {
	s.StopProcess(crossplaneProcess)
	for _, prefix := range []string{functionProcessPrefix, providerProcessPrefix} {
		files, _ := filepath.Glob(s.pidFile(prefix + "*"))
		for _, f := range files {
			s.StopProcess(strings.TrimSuffix(filepath.Base(f), ".pid"))
		}
	}
}

// writeCertificates writes Crossplane's client certificate (made by core
// init) for core start, and a server certificate for 127.0.0.1, signed by the
// same root CA, for the functions.
func (x *Crossplane) writeCertificates(ctx context.Context, client kubernetes.Interface) error {
	secret := func(name string) (*corev1.Secret, error) {
		return client.CoreV1().Secrets(CrossplaneNamespace).Get(ctx, name, metav1.GetOptions{})
	}
	ca, err := secret("crossplane-root-ca")
	if err != nil {
		return fmt.Errorf("reading the root CA core init made: %w", err)
	}
	clientCert, err := secret("crossplane-tls-client")
	if err != nil {
		return fmt.Errorf("reading the client certificate core init made: %w", err)
	}
	if err := writeFiles(filepath.Join(x.dir, "client-certs"), map[string][]byte{
		"ca.crt": ca.Data["tls.crt"], "tls.crt": clientCert.Data["tls.crt"], "tls.key": clientCert.Data["tls.key"],
	}); err != nil {
		return err
	}
	serverCert, serverKey, err := signLoopbackCertificate(ca.Data["tls.crt"], ca.Data["tls.key"])
	if err != nil {
		return fmt.Errorf("signing the functions' certificate: %w", err)
	}
	return writeFiles(x.FunctionCertsDir, map[string][]byte{"ca.crt": ca.Data["tls.crt"], "tls.crt": serverCert, "tls.key": serverKey})
}

func conditionStatus(conditions []any, typ string) string {
	for _, c := range conditions {
		if c, ok := c.(map[string]any); ok && c["type"] == typ {
			status, _ := c["status"].(string)
			return status
		}
	}
	return ""
}

// signLoopbackCertificate makes a server certificate for 127.0.0.1 and
// localhost, signed by the CA.
func signLoopbackCertificate(caCertPEM, caKeyPEM []byte) (certPEM, keyPEM []byte, err error) {
	ca, err := tls.X509KeyPair(caCertPEM, caKeyPEM)
	if err != nil {
		return nil, nil, err
	}
	caCert, err := x509.ParseCertificate(ca.Certificate[0])
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	template := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "sandbox composition functions"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     caCert.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, caCert, &key.PublicKey, ca.PrivateKey)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

func writeFiles(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for name, data := range files {
		if len(data) == 0 {
			return fmt.Errorf("%s: no data", name)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// freePorts are n loopback ports free at the time of the call.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// goCommand runs go in dir and returns its trimmed output.
func goCommand(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %v in %s: %w", args, dir, err)
	}
	return strings.TrimSpace(string(out)), nil
}
