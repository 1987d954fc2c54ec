# The quickstart on a real cluster: `make demo-kind` creates the offline kind
# cluster (real kubelet and containerd, Traefik as the networking layer, a
# registry holding Knative's images built from source) and applies this.
# Against a kind cluster of your own: set knative_images to where you mirrored
# Knative's images, image to an image your nodes can pull, and ingress_class
# and ingress_services to the networking layer you installed.

terraform {
  required_providers {
    knative = {
      source = "tf-knative/knative"
    }
  }
}

# Connection settings come from KUBE_CONFIG_PATH (and the other KUBE_* variables).
provider "knative" {}

variable "knative_images" {
  type        = string
  description = "Where the nodes pull Knative's images from: $${NAME} is each container's name (controller, webhook, autoscaler, activator, queue-proxy)."
}

variable "image" {
  type        = string
  description = "The app's image. Knative resolves its tag to a digest against the registry."
}

variable "ingress_class" {
  type    = string
  default = "traefik.ingress.networking.knative.dev"
}

variable "ingress_services" {
  type    = list(string)
  default = ["traefik/traefik"]
}

# Knative Serving from the mirror, routing through the networking layer the
# cluster brings (Traefik here): the provider installs no layer of its own,
# checks that the layer's Services exist, and names its class in config-network.
resource "knative_serving" "this" {
  version  = "1.23.0"
  ingress  = "external"
  registry = { default = var.knative_images }
  external_ingress = {
    class    = var.ingress_class
    services = var.ingress_services
  }
}

resource "knative_serving_config" "domain" {
  name       = "domain"
  data       = { "example.com" = "" }
  depends_on = [knative_serving.this]
}

resource "knative_serving_config" "features" {
  name       = "features"
  data       = { "secure-pod-defaults" = "enabled" }
  depends_on = [knative_serving.this]
}

resource "knative_service" "hello" {
  name = "hello"
  template = {
    containers = [{
      image = var.image
      env   = [{ name = "TARGET", value = "Knative on kind" }]
    }]
  }
  depends_on = [knative_serving_config.domain, knative_serving_config.features]
}

output "url" {
  value = knative_service.hello.url
}

output "ready_revision" {
  value = knative_service.hello.latest_ready_revision_name
}
