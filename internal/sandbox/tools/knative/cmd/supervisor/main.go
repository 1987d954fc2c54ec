// Command supervisor runs Knative Serving in a sandbox cluster. SANDBOX ONLY.
//
// Sandbox pods are simulated by KWOK, so the Deployments that Knative's
// release installs never run anything. Once the runtime is installed (its
// config-network exists), the supervisor runs Knative's own controller,
// webhook and autoscaler as local processes against the cluster, restarts them
// when they die, and stops them when the runtime is removed (or while a test
// pauses one). It also:
//   - routes admission to the local webhook: the webhook Service becomes an
//     ExternalName for a loopback address of this sandbox, on whose port 443 a
//     TCP forwarder passes TLS through to the webhook process (kube-apiserver
//     calls an ExternalName Service at that name and still verifies the
//     certificate against webhook.knative-serving.svc);
//   - stands in for the networking layer's controller (Kourier, Istio,
//     Contour or Gateway API): the net-* controllers cannot be built here and
//     their probes cannot reach simulated pods, so KIngresses are marked
//     Ready with the layer's load balancer addresses while that layer is
//     installed. On a real cluster the layer's controller does this.
package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"knative.dev/networking/pkg/apis/networking"
	"knative.dev/networking/pkg/apis/networking/v1alpha1"
	networkingclient "knative.dev/networking/pkg/client/clientset/versioned"
)

const (
	systemNamespace = "knative-serving"
	webhookService  = "webhook"
	// fieldManager owns only what the sandbox changes (the webhook Service's
	// type), nothing the provider applies.
	fieldManager = "knative-sandbox-supervisor"
	// podIP is written by the autoscaler into an EndpointSlice, which rejects
	// loopback addresses. 192.0.2.0/24 is TEST-NET-1: never routed, and nothing
	// in the sandbox sends traffic to it (no activator runs).
	podIP = "192.0.2.1"
)

type options struct {
	kubeconfig, dir                 string
	controller, webhook, autoscaler string
}

func main() {
	var o options
	flag.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig of the sandbox")
	flag.StringVar(&o.dir, "dir", "", "sandbox directory (logs go to DIR/logs)")
	flag.StringVar(&o.controller, "controller", "", "Knative controller binary")
	flag.StringVar(&o.webhook, "webhook", "", "Knative webhook binary")
	flag.StringVar(&o.autoscaler, "autoscaler", "", "Knative autoscaler binary")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil && ctx.Err() == nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, o options) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return err
	}
	kube := kubernetes.NewForConfigOrDie(cfg)
	networking := networkingclient.NewForConfigOrDie(cfg)

	webhookIP, listener, err := listenOnFreeLoopback(443)
	if err != nil {
		return err
	}
	webhookPort, err := freePort()
	if err != nil {
		return err
	}
	go forward(ctx, listener, fmt.Sprintf("127.0.0.1:%d", webhookPort))
	log.Printf("admission for this sandbox goes to %s:443 -> webhook on 127.0.0.1:%d", webhookIP, webhookPort)

	procs := []*process{
		{name: "controller", binary: o.controller},
		{name: "webhook", binary: o.webhook, env: []string{"WEBHOOK_NAME=webhook", fmt.Sprintf("WEBHOOK_PORT=%d", webhookPort)}},
		{name: "autoscaler", binary: o.autoscaler, env: []string{"POD_NAME=autoscaler-sandbox", "POD_IP=" + podIP}},
	}
	for _, p := range procs {
		p.env = append(p.env, "SYSTEM_NAMESPACE="+systemNamespace, "KUBECONFIG="+o.kubeconfig)
		p.args = []string{"--kubeconfig=" + o.kubeconfig}
		p.logPath = filepath.Join(o.dir, "logs", "knative-"+p.name+".log")
	}
	// Each process serves profiling on PROFILING_PORT (default 8008) and the
	// autoscaler its stats: give each its own free port.
	for _, p := range procs {
		port, err := freePort()
		if err != nil {
			return err
		}
		p.env = append(p.env, fmt.Sprintf("PROFILING_PORT=%d", port))
	}
	statsPort, err := freePort()
	if err != nil {
		return err
	}
	procs[2].env = append(procs[2].env, fmt.Sprintf("AUTOSCALER_STATS_ADDR=127.0.0.1:%d", statsPort))
	if err := os.MkdirAll(filepath.Join(o.dir, "logs"), 0o755); err != nil {
		return err
	}

	go standInForLayers(ctx, kube, networking)

	// Knative's controller exits when config-network does not exist, so the
	// processes run only while the runtime is installed.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	installed := false
	for {
		// While the API server cannot answer (a test stopped it), the
		// processes stay as they are: they reconnect, as they would in a pod.
		if now, known := runtimeInstalled(ctx, kube); known {
			installed = now
		}
		for _, p := range procs {
			if installed && !paused(o.dir, p.name) {
				p.ensureRunning()
			} else {
				p.stop()
			}
		}
		if installed {
			if err := routeWebhook(ctx, kube, webhookIP); err != nil {
				log.Printf("routing the webhook Service: %v", err)
			}
		}
		select {
		case <-ctx.Done():
			for _, p := range procs {
				p.stop()
			}
			return nil
		case <-tick.C:
		}
	}
}

// paused reports whether a test stopped the component to see how the
// provider copes without it (DIR/paused/NAME exists, see Sandbox.PauseKnative).
func paused(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, "paused", name))
	return err == nil
}

// runtimeInstalled reports whether config-network exists, and whether the
// API server answered the question at all.
func runtimeInstalled(ctx context.Context, kube kubernetes.Interface) (installed, known bool) {
	_, err := kube.CoreV1().ConfigMaps(systemNamespace).Get(ctx, "config-network", metav1.GetOptions{})
	switch {
	case err == nil:
		return true, true
	case apierrors.IsNotFound(err):
		return false, true
	}
	return false, false
}

// routeWebhook makes the webhook Service an ExternalName for this sandbox's
// loopback address. Only type, externalName and clusterIP change; the ports,
// selector and labels the provider applies stay as they are.
func routeWebhook(ctx context.Context, kube kubernetes.Interface, ip string) error {
	svc, err := kube.CoreV1().Services(systemNamespace).Get(ctx, webhookService, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName && svc.Spec.ExternalName == ip {
		return nil
	}
	patch := fmt.Sprintf(`{"spec":{"type":"ExternalName","externalName":%q,"clusterIP":null,"clusterIPs":null,"ipFamilies":null,"ipFamilyPolicy":null,"internalTrafficPolicy":null}}`, ip)
	_, err = kube.CoreV1().Services(systemNamespace).Patch(ctx, webhookService, types.MergePatchType, []byte(patch), metav1.PatchOptions{FieldManager: fieldManager})
	if err == nil {
		log.Printf("webhook Service now points at %s", ip)
	}
	return err
}

// layers are the networking layers' controllers the supervisor stands in
// for: the KIngress class each reconciles, its controller deployment (the
// stand-in serves a class only while its layer is installed, as on a real
// cluster), its webhook configurations and its gateways' addresses.
var layers = []struct {
	class, controller string
	webhooks          []string
	public, private   string
}{
	{"kourier.ingress.networking.knative.dev", "net-kourier-controller", nil,
		"kourier.kourier-system.svc.cluster.local", "kourier-internal.kourier-system.svc.cluster.local"},
	{"istio.ingress.networking.knative.dev", "net-istio-controller",
		[]string{"webhook.istio.networking.internal.knative.dev", "config.webhook.istio.networking.internal.knative.dev"},
		"istio-ingressgateway.istio-system.svc.cluster.local", "knative-local-gateway.istio-system.svc.cluster.local"},
	{"contour.ingress.networking.knative.dev", "net-contour-controller", nil,
		"envoy.contour-external.svc.cluster.local", "envoy.contour-internal.svc.cluster.local"},
	{"gateway-api.ingress.networking.knative.dev", "net-gateway-api-controller",
		[]string{"config.webhook.gateway-api.networking.internal.knative.dev"},
		"istio-ingressgateway.istio-system.svc.cluster.local", "knative-local-gateway.istio-system.svc.cluster.local"},
}

// standInForLayers marks every KIngress Ready with its layer's addresses,
// while that layer's controller deployment exists. It relists every few
// seconds, so a KIngress waiting for its layer is served once it arrives.
func standInForLayers(ctx context.Context, kube kubernetes.Interface, client networkingclient.Interface) {
	for ctx.Err() == nil {
		list, err := client.NetworkingV1alpha1().Ingresses(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			time.Sleep(2 * time.Second) // the CRD is not installed yet
			continue
		}
		installed := installedLayers(ctx, kube)
		for i := range list.Items {
			markReady(ctx, client, &list.Items[i], installed)
		}
		watchCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		w, err := client.NetworkingV1alpha1().Ingresses(metav1.NamespaceAll).Watch(watchCtx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
		if err == nil {
			for ev := range w.ResultChan() {
				if ing, ok := ev.Object.(*v1alpha1.Ingress); ok && ev.Type != "DELETED" {
					markReady(ctx, client, ing, installed)
				}
			}
		}
		cancel()
	}
}

// installedLayers maps the class of each installed layer to its addresses,
// and stands in for its webhook: the layer's webhook configurations get a CA
// bundle, as its webhook would give them (they have no rules until the real
// webhook adds some, so nothing is ever sent to it).
func installedLayers(ctx context.Context, kube kubernetes.Interface) map[string][2]string {
	installed := map[string][2]string{}
	for _, l := range layers {
		if _, err := kube.AppsV1().Deployments(systemNamespace).Get(ctx, l.controller, metav1.GetOptions{}); err != nil {
			continue
		}
		installed[l.class] = [2]string{l.public, l.private}
		for _, name := range l.webhooks {
			if err := injectCABundle(ctx, kube, name); err != nil {
				log.Printf("standing in for the webhook of %s: %v", l.controller, err)
			}
		}
	}
	return installed
}

// injectCABundle copies the CA bundle of Knative's own webhook into a
// layer's webhook configuration (mutating or validating) that has none.
func injectCABundle(ctx context.Context, kube kubernetes.Interface, name string) error {
	core, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, "config.webhook.serving.knative.dev", metav1.GetOptions{})
	if err != nil || len(core.Webhooks) == 0 || len(core.Webhooks[0].ClientConfig.CABundle) == 0 {
		return nil // Knative's webhook has not configured itself yet
	}
	bundle := core.Webhooks[0].ClientConfig.CABundle
	patch := func(n int) []byte {
		var ops []string
		for i := 0; i < n; i++ {
			ops = append(ops, fmt.Sprintf(`{"op":"add","path":"/webhooks/%d/clientConfig/caBundle","value":%q}`, i, base64.StdEncoding.EncodeToString(bundle)))
		}
		return []byte("[" + strings.Join(ops, ",") + "]")
	}
	opts := metav1.PatchOptions{FieldManager: fieldManager}
	if v, err := kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{}); err == nil {
		if len(v.Webhooks) > 0 && len(v.Webhooks[0].ClientConfig.CABundle) == 0 {
			_, err = kube.AdmissionregistrationV1().ValidatingWebhookConfigurations().Patch(ctx, name, types.JSONPatchType, patch(len(v.Webhooks)), opts)
		}
		return err
	}
	m, err := kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err == nil && len(m.Webhooks) > 0 && len(m.Webhooks[0].ClientConfig.CABundle) == 0 {
		_, err = kube.AdmissionregistrationV1().MutatingWebhookConfigurations().Patch(ctx, name, types.JSONPatchType, patch(len(m.Webhooks)), opts)
	}
	return err
}

// markReady marks a KIngress Ready with the addresses of its class's layer,
// when that layer is installed and the KIngress does not say so already.
func markReady(ctx context.Context, client networkingclient.Interface, ing *v1alpha1.Ingress, installed map[string][2]string) {
	addresses, ok := installed[ing.Annotations[networking.IngressClassAnnotationKey]]
	if !ok {
		return
	}
	public := []v1alpha1.LoadBalancerIngressStatus{{DomainInternal: addresses[0]}}
	private := []v1alpha1.LoadBalancerIngressStatus{{DomainInternal: addresses[1]}}
	if ing.Status.ObservedGeneration == ing.Generation && ing.IsReady() && ing.Status.PublicLoadBalancer != nil &&
		len(ing.Status.PublicLoadBalancer.Ingress) == 1 && ing.Status.PublicLoadBalancer.Ingress[0].DomainInternal == addresses[0] {
		return
	}
	ing = ing.DeepCopy()
	ing.Status.InitializeConditions()
	ing.Status.MarkNetworkConfigured()
	ing.Status.MarkLoadBalancerReady(public, private)
	ing.Status.ObservedGeneration = ing.Generation
	if _, err := client.NetworkingV1alpha1().Ingresses(ing.Namespace).UpdateStatus(ctx, ing, metav1.UpdateOptions{FieldManager: fieldManager}); err != nil {
		log.Printf("marking KIngress %s/%s ready: %v", ing.Namespace, ing.Name, err)
	}
}

// process is one Knative component run as a local child process.
type process struct {
	name, binary, logPath string
	args, env             []string

	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{}
	restarts int
	nextTry  time.Time
}

func (p *process) ensureRunning() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		select {
		case <-p.exited:
			p.cmd = nil
			p.restarts++
			// Back off, up to 30s, so a crash loop does not spin.
			delay := time.Duration(min(p.restarts, 30)) * time.Second
			p.nextTry = time.Now().Add(delay)
			log.Printf("%s exited (restart %d in %s; log %s)", p.name, p.restarts, delay, p.logPath)
		default:
			return
		}
	}
	if time.Now().Before(p.nextTry) {
		return
	}
	logFile, err := os.OpenFile(p.logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		log.Printf("%s: %v", p.name, err)
		return
	}
	cmd := exec.Command(p.binary, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		log.Printf("starting %s: %v", p.name, err)
		return
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
	p.cmd, p.exited = cmd, exited
	log.Printf("started %s (pid %d)", p.name, cmd.Process.Pid)
}

func (p *process) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	log.Printf("stopped %s", p.name)
	p.cmd = nil
}

// listenOnFreeLoopback binds port on the first free address of 127.0.0.2-254,
// so each sandbox on the machine gets its own.
func listenOnFreeLoopback(port int) (string, net.Listener, error) {
	for i := 2; i < 255; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, port))
		if err == nil {
			return ip, l, nil
		}
	}
	return "", nil, fmt.Errorf("no loopback address with port %d free", port)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// forward passes TCP connections (TLS included, untouched) to target.
func forward(ctx context.Context, l net.Listener, target string) {
	go func() { <-ctx.Done(); l.Close() }()
	for {
		in, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer in.Close()
			out, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				return
			}
			defer out.Close()
			go func() { _, _ = io.Copy(out, in) }()
			_, _ = io.Copy(in, out)
		}()
	}
}
