# Quickstart: run with `make demo`, which starts the local sandbox cluster,
# builds the provider and applies this configuration against the sandbox.
# Against your own cluster: export KUBE_CONFIG_PATH=~/.kube/config (and KUBE_CTX).

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

output "knative_serving" {
  value = "Knative Serving ${knative_serving.this.installed_version} is ${knative_serving.this.ready ? "ready" : "not ready"} (ingress class ${knative_serving.this.ingress_class})"
}

output "components" {
  value = { for c in knative_serving.this.components : "${c.namespace}/${c.name}" => c.ready ? "ready" : c.message }
}
