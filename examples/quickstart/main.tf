# Quickstart: run with `make demo`, which starts the local sandbox cluster,
# builds the provider and applies this configuration against the sandbox.
# Against your own cluster: export KUBE_CONFIG_PATH=~/.kube/config (and KUBE_CTX),
# and use an image your cluster can pull.

terraform {
  required_providers {
    knative = {
      source = "tf-knative/knative"
    }
  }
}

# Connection settings come from KUBE_CONFIG_PATH (and the other KUBE_* variables).
provider "knative" {}

# Installs Knative Serving with Kourier and returns once it is usable.
resource "knative_serving" "this" {
  version = "1.23.0"
}

# Services get URLs under example.com.
resource "knative_serving_config" "domain" {
  name       = "domain"
  data       = { "example.com" = "" }
  depends_on = [knative_serving.this]
}

# Secure pod defaults, as Knative recommends: its webhook gives containers the
# restricted security context (run as non-root, no privilege escalation, all
# capabilities dropped, the runtime's seccomp profile) instead of warning that
# Kubernetes' defaults are insecure. An image that must run as root needs
# "allow-root-bounded" instead.
resource "knative_serving_config" "features" {
  name       = "features"
  data       = { "secure-pod-defaults" = "enabled" }
  depends_on = [knative_serving.this]
}

# A Service, in the same apply as the runtime it needs. kind.local images are
# not resolved against a registry (the sandbox is offline; its pods are simulated).
resource "knative_service" "hello" {
  name = "hello"
  template = {
    containers = [{
      image = var.image
      env   = [{ name = "TARGET", value = "Knative" }]
    }]
  }
  depends_on = [knative_serving_config.domain, knative_serving_config.features]
}

variable "image" {
  type    = string
  default = "kind.local/helloworld-go:latest"
}

output "knative_serving" {
  value = "Knative Serving ${knative_serving.this.installed_version} is ${knative_serving.this.ready ? "ready" : "not ready"}"
}

output "url" {
  value = knative_service.hello.url
}

output "ready_revision" {
  value = knative_service.hello.latest_ready_revision_name
}
