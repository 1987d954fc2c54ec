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

# Secrets and config maps as environment variables and files, a scratch
# directory, probes and a locked-down container.
resource "knative_service" "api" {
  name = "api"

  template = {
    service_account_name = "api"
    containers = [{
      image = "ghcr.io/example/api:1.4.2"
      env = [
        { name = "DB_PASSWORD", value_from = { secret_key_ref = { name = "api-db", key = "password" } } },
      ]
      env_from = [{ config_map_ref = { name = "api-settings" } }]
      volume_mounts = [
        { name = "tls", mount_path = "/etc/tls", read_only = true },
        { name = "cache", mount_path = "/var/cache/api" },
      ]
      liveness_probe = { http_get = { path = "/livez" }, period_seconds = 10 }
      startup_probe  = { http_get = { path = "/startz", port = 8080 }, failure_threshold = 30 }
      security_context = {
        run_as_non_root            = true
        allow_privilege_escalation = false
        capabilities               = { drop = ["ALL"] }
        seccomp_profile            = { type = "RuntimeDefault" }
      }
    }]
    volumes = [
      { name = "tls", secret = { secret_name = "api-tls", default_mode = 256 } }, # 0400
      { name = "cache", empty_dir = { size_limit = "256Mi" } },
    ]
    image_pull_secrets = [{ name = "registry-credentials" }]
  }
}

output "hello_url" {
  value = knative_service.hello.url
}
