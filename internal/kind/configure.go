package kind

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

//go:embed manifests/traefik.yaml
var traefikManifest string

// configure makes the new cluster offline and ready for Knative: CoreDNS
// without an upstream (no forward, and no loop check, which queries it),
// kube-proxy's rules in place before anything relies on a ClusterIP, and
// Traefik installed as the networking layer.
func (c *Cluster) configure(ctx context.Context) error {
	tools, err := c.nodeTools(ctx)
	if err != nil {
		return err
	}
	kubectl := func(stdin string, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, filepath.Join(tools.Kube, "kubectl"), append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
		var out, errOut bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(stdin), &out, &errOut
		if err := cmd.Run(); err != nil {
			return "", fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
		}
		return out.String(), nil
	}
	corefile, err := kubectl("", "-n", "kube-system", "get", "configmap", "coredns", "-o", "jsonpath={.data.Corefile}")
	if err != nil {
		return err
	}
	if offline := offlineCorefile(corefile); offline != corefile {
		patch := fmt.Sprintf(`{"data":{"Corefile":%q}}`, offline)
		if _, err := kubectl("", "-n", "kube-system", "patch", "configmap", "coredns", "--type", "merge", "-p", patch); err != nil {
			return err
		}
		if _, err := kubectl("", "-n", "kube-system", "rollout", "restart", "deployment/coredns"); err != nil {
			return err
		}
	}
	for _, args := range [][]string{
		{"-n", "kube-system", "rollout", "status", "daemonset/kube-proxy", "--timeout", "3m"},
		{"-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout", "3m"},
	} {
		if _, err := kubectl("", args...); err != nil {
			return err
		}
	}
	manifest := strings.ReplaceAll(traefikManifest, "${TRAEFIK_IMAGE}", TraefikImage())
	if _, err := kubectl(manifest, "apply", "--server-side", "--field-manager", "tfk-kind", "-f", "-"); err != nil {
		return err
	}
	_, err = kubectl("", "-n", "traefik", "rollout", "status", "deployment/traefik", "--timeout", "3m")
	return err
}

// offlineCorefile is CoreDNS's configuration without its upstream: the
// forward block and the loop plugin (whose check queries upstream) go.
func offlineCorefile(corefile string) string {
	var out []string
	skipping := 0
	for _, line := range strings.Split(corefile, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case skipping > 0:
			skipping += strings.Count(trimmed, "{") - strings.Count(trimmed, "}")
			continue
		case strings.HasPrefix(trimmed, "forward "):
			skipping = strings.Count(trimmed, "{") - strings.Count(trimmed, "}")
			continue
		case trimmed == "loop":
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}
