package provider_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// What only a cluster with real pods can show: images pulled, the runtime
// really available, a container's real failure, an answer through the
// ingress, a split seen in the answers, the activator holding a request while
// a revision scales from zero. They need KNATIVE_TEST_INGRESS_URL (make
// test-kind sets it for the offline kind cluster).

// realCluster skips unless the target has real pods and an ingress this
// runner reaches.
func realCluster(t *testing.T) *acctest.Cluster {
	t.Helper()
	c := acctest.PreCheck(t)
	if acctest.OnSandbox() || acctest.IngressURL() == "" || registryHost() == "" {
		t.Skip("needs real pods, a networking layer this runner can reach (KNATIVE_TEST_INGRESS_URL) and a registry holding " +
			"Knative's images and the test app (KNATIVE_TEST_REGISTRY): make test-kind runs it on the offline kind cluster")
	}
	return c
}

// registryHost is the host of the test target's mirror, or "".
func registryHost() string {
	host, _, _ := strings.Cut(acctest.Registry(), "/")
	return host
}

// kindImage is the test app (internal/kind/hello) in the cluster's registry,
// by tag, so Knative resolves the tag to a digest against a real registry.
func kindImage(tag string) string { return registryHost() + "/hello:" + tag }

const realClusterConfig = `
resource "knative_serving_config" "domain" {
  name       = "domain"
  data       = { "example.com" = "" }
  depends_on = [knative_serving.this]
}

# Scale to zero within a test's patience.
resource "knative_serving_config" "autoscaler" {
  name       = "autoscaler"
  data       = { "scale-to-zero-grace-period" = "6s", "stable-window" = "6s" }
  depends_on = [knative_serving.this]
}

# Knative looks at a crashing container's pods when the revision's Deployment
# changes; with nothing else changing, that is at its progress deadline
# (600 s by default).
resource "knative_serving_config" "deployment" {
  name       = "deployment"
  data       = { "progress-deadline" = "30s" }
  depends_on = [knative_serving.this]
}
`

func realService(body string) string {
	return fmt.Sprintf(`
resource "knative_service" "hello" {
  name       = "hello"
  depends_on = [knative_serving_config.domain, knative_serving_config.autoscaler, knative_serving_config.deployment]
%s
}
`, body)
}

// TestAccRealCluster_trafficSplitAndScaleFromZero: the runtime becomes
// available with pulled images and Ready pods; the Service answers through
// the ingress with the user's container's body; a 50/50 split is seen in the
// answers and a tag's URL answers from its revision; after the revision
// scaled to zero, a request is held by the activator and answered.
func TestAccRealCluster_trafficSplitAndScaleFromZero(t *testing.T) {
	c := realCluster(t)
	clients := c.Clients(t)
	runtime := configRuntime(c, "") + realClusterConfig
	one := runtime + realService(fmt.Sprintf(`
  template = {
    name       = "hello-one"
    containers = [{ image = %q, env = [{ name = "TARGET", value = "one" }] }]
  }`, kindImage("v1")))
	split := runtime + realService(fmt.Sprintf(`
  template = {
    name       = "hello-two"
    containers = [{ image = %q, env = [{ name = "TARGET", value = "two" }] }]
  }
  traffic = [
    { revision_name = "hello-one", percent = 50 },
    { revision_name = "hello-two", percent = 50, tag = "candidate" },
  ]`, kindImage("v2")))
	var installStarted time.Time
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(clients, "default"),
		Steps: []resource.TestStep{
			{
				PreConfig: func() { installStarted = time.Now() },
				Config:    one,
				Check: resource.ComposeAggregateTestCheckFunc(
					func(*terraform.State) error {
						t.Logf("runtime installed and the Service Ready through the provider in %s", time.Since(installStarted).Round(100*time.Millisecond))
						return nil
					},
					checkRuntimePodsRunFromRegistry(clients),
					checkAnswers("hello.default.example.com", regexp.MustCompile(`^Hello one from hello-one-deployment-`), 1),
				),
			},
			{
				Config: split,
				Check: resource.ComposeAggregateTestCheckFunc(
					checkSplit("hello.default.example.com", 40, map[string]int{"hello-one-": 20, "hello-two-": 20}),
					checkAnswers("candidate-hello.default.example.com", regexp.MustCompile(`^Hello two from hello-two-deployment-`), 5),
				),
			},
			{
				Config: split,
				Check:  checkScaleFromZero(clients, "candidate-hello.default.example.com", "hello-two"),
			},
		},
	})
}

// TestAccRealCluster_failuresSayKnativesReason: a revision whose container
// exits and an image that does not exist fail the apply with Knative's own
// reason, not a timeout.
func TestAccRealCluster_failuresSayKnativesReason(t *testing.T) {
	c := realCluster(t)
	clients := c.Clients(t)
	runtime := configRuntime(c, "") + realClusterConfig
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkNothingLeft(clients, "default"),
		Steps: []resource.TestStep{
			{Config: runtime},
			{
				Config: runtime + realService(fmt.Sprintf(`
  template = {
    containers = [{ image = %q, env = [{ name = "EXIT_CODE", value = "3" }] }]
  }`, kindImage("v1"))),
				ExpectError: regexp.MustCompile(`Container failed with`),
			},
			{
				Config: runtime + realService(fmt.Sprintf(`
  template = {
    containers = [{ image = %q }]
  }`, registryHost()+"/not-pushed:v1")),
				ExpectError: regexp.MustCompile(`Unable to fetch image`),
			},
		},
	})
}

// checkRuntimePodsRunFromRegistry: every Knative pod is Running and Ready,
// its containers started from the test registry's images.
func checkRuntimePodsRunFromRegistry(clients *kube.Clients) resource.TestCheckFunc {
	return func(*terraform.State) error {
		pods, err := clients.Kubernetes.CoreV1().Pods("knative-serving").List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(pods.Items) < 4 {
			return fmt.Errorf("%d pods in knative-serving, want the 4 components' at least", len(pods.Items))
		}
		registryHost := registryHost()
		for _, p := range pods.Items {
			if p.Status.Phase != corev1.PodRunning {
				return fmt.Errorf("pod %s is %s", p.Name, p.Status.Phase)
			}
			for _, s := range p.Status.ContainerStatuses {
				if !s.Ready || !strings.HasPrefix(s.Image, registryHost+"/") {
					return fmt.Errorf("pod %s container %s: ready %v, image %s (want one from %s)", p.Name, s.Name, s.Ready, s.Image, registryHost)
				}
			}
		}
		return nil
	}
}

// get sends one request for host through the ingress.
func get(host string) (int, string, error) {
	req, err := http.NewRequest(http.MethodGet, acctest.IngressURL()+"/", nil)
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// getOK answers host's body once the ingress routes it: Traefik marks a
// KIngress Ready as it hands the route to its router, without probing it, so
// the first moments may still answer 404.
func getOK(host string) (string, error) {
	var status int
	var body string
	var lastErr error
	err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		status, body, lastErr = get(host)
		return lastErr == nil && status == http.StatusOK, nil
	})
	if err != nil {
		return "", fmt.Errorf("%s through %s: status %d, body %q, error %w", host, acctest.IngressURL(), status, body, lastErr)
	}
	return body, nil
}

func checkAnswers(host string, want *regexp.Regexp, n int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		for i := 0; i < n; i++ {
			body, err := getOK(host)
			if err != nil {
				return err
			}
			if !want.MatchString(body) {
				return fmt.Errorf("%s answered %q, want %s", host, body, want)
			}
		}
		return nil
	}
}

// checkSplit sends n requests and counts the answers by the revision whose
// pod answered (the body names the pod): each prefix must get about its
// share (within a quarter of n, as the split is random per request).
func checkSplit(host string, n int, want map[string]int) resource.TestCheckFunc {
	return func(*terraform.State) error {
		// Traefik routes by the new split a moment after the KIngress is
		// Ready: count once every revision answered.
		for prefix := range want {
			err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
				body, err := getOK(host)
				return err == nil && strings.Contains(body, " from "+prefix), nil
			})
			if err != nil {
				return fmt.Errorf("no answer from %s* at %s: %w", prefix, host, err)
			}
		}
		got := map[string]int{}
		for i := 0; i < n; i++ {
			body, err := getOK(host)
			if err != nil {
				return err
			}
			for prefix := range want {
				if strings.Contains(body, " from "+prefix) {
					got[prefix]++
				}
			}
		}
		for prefix, share := range want {
			if diff := got[prefix] - share; diff > n/4 || diff < -n/4 {
				return fmt.Errorf("%d requests to %s: %v answered by revision, want about %v", n, host, got, want)
			}
		}
		fmt.Printf("split of %d requests to %s: %v\n", n, host, got)
		return nil
	}
}

// checkScaleFromZero waits until the revision has no pods, then asks host
// (which routes to it alone): the activator holds the request while a pod
// starts, and it is answered.
func checkScaleFromZero(clients *kube.Clients, host, revision string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		ctx := context.Background()
		selector := metav1.ListOptions{LabelSelector: "serving.knative.dev/revision=" + revision}
		err := wait.PollUntilContextTimeout(ctx, time.Second, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
			pods, err := clients.Kubernetes.CoreV1().Pods("default").List(ctx, selector)
			return err == nil && len(pods.Items) == 0, nil
		})
		if err != nil {
			return fmt.Errorf("revision %s did not scale to zero: %w", revision, err)
		}
		started := time.Now()
		for {
			status, body, err := get(host)
			if err == nil && status == http.StatusOK && strings.Contains(body, " from "+revision+"-") {
				fmt.Printf("from zero: %s answered in %s\n", revision, time.Since(started).Round(10*time.Millisecond))
				return nil
			}
			if time.Since(started) > time.Minute {
				return fmt.Errorf("after scaling to zero, %s answered status %d, %q, %w", revision, status, body, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// checkNothingLeft: after destroy, no Knative object, pod or namespace of
// the runtime is left behind.
func checkNothingLeft(clients *kube.Clients, namespace string) resource.TestCheckFunc {
	removed := checkRuntimeRemoved(clients)
	return func(s *terraform.State) error {
		if err := removed(s); err != nil {
			return err
		}
		ctx := context.Background()
		return wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			pods, err := clients.Kubernetes.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{LabelSelector: "serving.knative.dev/service"})
			return err == nil && len(pods.Items) == 0, nil
		})
	}
}
