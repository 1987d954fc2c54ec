package provider_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tf-knative/terraform-provider-knative/internal/acctest"
	"github.com/tf-knative/terraform-provider-knative/internal/kube"
)

// podSpecFeatures enables the config-features flags the pod spec test uses.
const podSpecFeatures = `
resource "knative_serving_config" "features" {
  name = "features"
  data = {
    "kubernetes.podspec-fieldref"      = "enabled"
    "kubernetes.podspec-nodeselector"  = "enabled"
    "kubernetes.podspec-tolerations"   = "enabled"
  }
  depends_on = [knative_serving.this]
}
`

// podSpecBody uses every part of the pod template the schema offers.
const podSpecBody = `
  template = {
    containers = [{
      image = "kind.local/hello:v1"
      env = [
        { name = "TOKEN", value_from = { secret_key_ref = { name = "hello-secret", key = "token" } } },
        { name = "GREETING", value_from = { config_map_key_ref = { name = "hello-config", key = "greeting" } } },
        { name = "NAMESPACE", value_from = { field_ref = { field_path = "metadata.namespace" } } },
      ]
      env_from = [{ prefix = "CFG_", config_map_ref = { name = "hello-config" } }]
      volume_mounts = [
        { name = "secret", mount_path = "/etc/secret", read_only = true },
        { name = "all", mount_path = "/etc/all", read_only = true },
        { name = "scratch", mount_path = "/tmp/scratch", read_only = false },
      ]
      liveness_probe = { http_get = { path = "/healthz" }, period_seconds = 10 }
      startup_probe  = { tcp_socket = { port = 8080 }, failure_threshold = 30 }
      security_context = {
        run_as_non_root            = true
        allow_privilege_escalation = false
        capabilities               = { drop = ["ALL"] }
        seccomp_profile            = { type = "RuntimeDefault" }
      }
      resources = { requests = { memory = "64Mi" } }
    }]
    volumes = [
      { name = "secret", secret = { secret_name = "hello-secret", items = [{ key = "token", path = "token", mode = 256 }] } },
      { name = "all", projected = { sources = [
        { secret = { name = "hello-secret" } },
        { config_map = { name = "hello-config", items = [{ key = "greeting", path = "greeting.txt" }] } },
        { service_account_token = { path = "sa-token", expiration_seconds = 3600 } },
      ] } },
      { name = "scratch", empty_dir = { size_limit = "64Mi" } },
    ]
    image_pull_secrets = [{ name = "regcred" }]
    node_selector      = { "kubernetes.io/os" = "linux" }
    tolerations        = [{ key = "example.com/dedicated", operator = "Exists", effect = "NoSchedule" }]
  }
`

func TestAccService_podSpecSecretsConfigMapsVolumes(t *testing.T) {
	c := acctest.PreCheck(t)
	clients := c.Clients(t)
	createSecretAndConfigMap(t, clients)
	withFeatures := configRuntime(c, podSpecFeatures+`
resource "knative_service" "hello" {
  name       = "hello"
  depends_on = [knative_serving_config.features]
`+podSpecBody+`
}
`)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: acctest.ProtoV6ProviderFactories,
		CheckDestroy:             checkRuntimeRemoved(clients),
		Steps: []resource.TestStep{
			{
				// Without the feature flags Knative's webhook refuses the
				// Service (the plan warns); nothing is written.
				Config:      withService(c, podSpecBody),
				ExpectError: wrapped(`Applying the Knative Service failed`, `must not set the field(s):`, `spec.template.spec.nodeSelector`),
			},
			{
				PreConfig: func() {
					if _, err := clients.Dynamic.Resource(knativeServices).Namespace("default").Get(context.Background(), "hello", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
						t.Fatalf("the refused Service exists: %v", err)
					}
				},
				// The plan after apply must be empty: webhook defaults (such as
				// probe ports) and omitted zero values (read_only = false) are no diff.
				Config: withFeatures,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(helloAddress, tfjsonpath.New("ready"), knownvalue.Bool(true)),
				},
				// Knative's controller carries all of it into the revision's Deployment.
				Check: checkRevisionDeployment(clients, "hello-00001", func(pod corev1.PodSpec) error {
					user := pod.Containers[slices.IndexFunc(pod.Containers, func(c corev1.Container) bool { return c.Name == "user-container" })]
					env := map[string]corev1.EnvVar{}
					for _, e := range user.Env {
						env[e.Name] = e
					}
					switch {
					case env["TOKEN"].ValueFrom == nil || env["TOKEN"].ValueFrom.SecretKeyRef == nil || env["TOKEN"].ValueFrom.SecretKeyRef.Name != "hello-secret":
						return fmt.Errorf("TOKEN is %+v", env["TOKEN"])
					case env["GREETING"].ValueFrom == nil || env["GREETING"].ValueFrom.ConfigMapKeyRef == nil || env["GREETING"].ValueFrom.ConfigMapKeyRef.Key != "greeting":
						return fmt.Errorf("GREETING is %+v", env["GREETING"])
					case env["NAMESPACE"].ValueFrom == nil || env["NAMESPACE"].ValueFrom.FieldRef == nil || env["NAMESPACE"].ValueFrom.FieldRef.FieldPath != "metadata.namespace":
						return fmt.Errorf("NAMESPACE is %+v", env["NAMESPACE"])
					case len(user.EnvFrom) != 1 || user.EnvFrom[0].Prefix != "CFG_" || user.EnvFrom[0].ConfigMapRef.Name != "hello-config":
						return fmt.Errorf("envFrom is %+v", user.EnvFrom)
					case len(pod.Volumes) != 3 || pod.Volumes[0].Secret == nil || *pod.Volumes[0].Secret.Items[0].Mode != 0o400 ||
						pod.Volumes[1].Projected == nil || len(pod.Volumes[1].Projected.Sources) != 3 || pod.Volumes[2].EmptyDir == nil ||
						pod.Volumes[2].EmptyDir.SizeLimit.String() != "64Mi":
						return fmt.Errorf("volumes are %+v", pod.Volumes)
					case !slices.ContainsFunc(user.VolumeMounts, func(m corev1.VolumeMount) bool {
						return m.Name == "secret" && m.MountPath == "/etc/secret" && m.ReadOnly
					}):
						return fmt.Errorf("volume mounts are %+v", user.VolumeMounts)
					case user.LivenessProbe == nil || user.LivenessProbe.HTTPGet == nil || user.LivenessProbe.HTTPGet.Path != "/healthz":
						return fmt.Errorf("liveness probe is %+v", user.LivenessProbe)
					case user.StartupProbe == nil || user.StartupProbe.FailureThreshold != 30:
						return fmt.Errorf("startup probe is %+v", user.StartupProbe)
					case user.SecurityContext == nil || user.SecurityContext.RunAsNonRoot == nil || !*user.SecurityContext.RunAsNonRoot:
						return fmt.Errorf("security context is %+v", user.SecurityContext)
					case pod.NodeSelector["kubernetes.io/os"] != "linux" || len(pod.Tolerations) != 1 || pod.Tolerations[0].Key != "example.com/dedicated":
						return fmt.Errorf("node selector %v, tolerations %+v", pod.NodeSelector, pod.Tolerations)
					case len(pod.ImagePullSecrets) != 1 || pod.ImagePullSecrets[0].Name != "regcred":
						return fmt.Errorf("image pull secrets are %+v", pod.ImagePullSecrets)
					}
					return nil
				}),
			},
			{
				ResourceName:      helloAddress,
				ImportState:       true,
				ImportStateId:     "default/hello",
				ImportStateVerify: true,
				// The API server omits a false read_only: import cannot tell it from unset.
				ImportStateVerifyIgnore: []string{"timeouts", "template.containers.0.volume_mounts.2.read_only"},
			},
			{
				// An import block with -generate-config-out: the configuration
				// Terraform writes from the imported state plans no change.
				ResourceName:    helloAddress,
				ImportState:     true,
				ImportStateKind: resource.ImportBlockWithID,
				ImportStateId:   "default/hello",
				GenerateConfig:  true,
			},
		},
	})
}

// createSecretAndConfigMap creates what podSpecBody refers to.
func createSecretAndConfigMap(t *testing.T, c *kube.Clients) {
	ctx := context.Background()
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "hello-secret"}, StringData: map[string]string{"token": "s3cr3t"}}
	configMap := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "hello-config"}, Data: map[string]string{"greeting": "hi", "color": "blue"}}
	if _, err := c.Kubernetes.CoreV1().Secrets("default").Create(ctx, secret, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	if _, err := c.Kubernetes.CoreV1().ConfigMaps("default").Create(ctx, configMap, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Kubernetes.CoreV1().Secrets("default").Delete(ctx, "hello-secret", metav1.DeleteOptions{})
		_ = c.Kubernetes.CoreV1().ConfigMaps("default").Delete(ctx, "hello-config", metav1.DeleteOptions{})
	})
}

// checkRevisionDeployment checks the pod spec of the Deployment Knative made for a revision.
func checkRevisionDeployment(c *kube.Clients, revision string, check func(corev1.PodSpec) error) resource.TestCheckFunc {
	return func(*terraform.State) error {
		var d *appsv1.Deployment
		d, err := c.Kubernetes.AppsV1().Deployments("default").Get(context.Background(), revision+"-deployment", metav1.GetOptions{})
		if err != nil {
			return err
		}
		return check(d.Spec.Template.Spec)
	}
}
