# Knative Serving 1.23 with Kourier, from manifests embedded in the provider.
resource "knative_serving" "this" {
  version = "1.23.0"
}

# On Istio: net-istio is installed with it. Istio itself (its CRDs and the
# istio-system/istio-ingressgateway Service) must be there first; the apply
# names whatever is missing and writes nothing. Changing ingress later
# switches layers in place.
resource "knative_serving" "on_istio" {
  version = "1.23.0"
  ingress = "istio" # or "contour", "gateway-api"; default "kourier"
}

# On a networking layer you install yourself, such as Traefik with its Knative
# provider (or Kong, Ambassador, Gloo): no layer is installed, config-network
# names the layer's class. The Services listed must exist: the plan warns while
# one is missing, and the apply refuses, writing nothing. Switching between
# "external" and the other layers is in place, as between those.
resource "knative_serving" "on_traefik" {
  version = "1.23.0"
  ingress = "external"
  external_ingress = {
    class    = "traefik.ingress.networking.knative.dev"
    services = ["traefik/traefik"]
  }
}

# Highly available, from a mirrored registry (air-gapped clusters). Each image
# of the release has a name: Knative Serving's own are named by their
# containers (controller, webhook, autoscaler, activator, queue-proxy), the
# networking layer's by their Deployments (with Kourier: net-kourier-controller
# and 3scale-kourier-gateway, the Envoy proxy). Here the mirror holds
# registry.example.com/knative/<name>:v1.23.0 for each, but Envoy, which is
# mirrored under its own name.
resource "knative_serving" "mirrored" {
  version = "1.23.0"

  high_availability = {
    replicas = 3
  }

  registry = {
    # $${NAME} is the image's name ($$ keeps HCL from interpolating it).
    default = "registry.example.com/knative/$${NAME}:v1.23.0"
    override = {
      # By name, or by "deployment/container" ("3scale-kourier-gateway/kourier-gateway").
      "3scale-kourier-gateway" = "registry.example.com/envoyproxy/envoy:v1.37-latest"
    }
  }

  timeouts {
    create = "30m"
  }
}

output "knative_components" {
  value = { for c in knative_serving.this.components : c.name => c.ready }
}
