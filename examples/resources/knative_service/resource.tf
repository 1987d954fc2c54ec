resource "knative_service" "hello" {
  name      = "hello"
  namespace = "default"

  template = {
    containers = [{
      image = "ghcr.io/knative/helloworld-go:latest"
      env   = [{ name = "TARGET", value = "Terraform" }]
      ports = [{ container_port = 8080 }]
      resources = {
        requests = { cpu = "100m", memory = "64Mi" }
        limits   = { memory = "256Mi" }
      }
      readiness_probe = {
        http_get = { path = "/healthz" }
      }
    }]
    scaling = {
      min_scale = 1
      max_scale = 10
      target    = 100
    }
  }
}

# Named revisions with a split: 90% to v1, 10% to the latest, each with its own URL.
resource "knative_service" "canary" {
  name = "canary"

  template = {
    name       = "canary-v2"
    containers = [{ image = "ghcr.io/knative/helloworld-go:latest" }]
  }

  traffic = [
    { revision_name = "canary-v1", percent = 90, tag = "stable" },
    { latest_revision = true, percent = 10, tag = "candidate" },
  ]
}

output "hello_url" {
  value = knative_service.hello.url
}
