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

data "knative_serving" "this" {}

output "knative_serving" {
  value = data.knative_serving.this.installed ? "Knative Serving ${data.knative_serving.this.version} is installed" : "Knative Serving is not installed yet"
}
