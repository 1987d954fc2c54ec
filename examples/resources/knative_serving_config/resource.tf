# Keys of config-autoscaler; other keys of the config map are left alone.
resource "knative_serving_config" "autoscaler" {
  name = "autoscaler"
  data = {
    "enable-scale-to-zero" = "false"
    "max-scale"            = "20"
  }
  depends_on = [knative_serving.this]
}

# Services get URLs under example.com.
resource "knative_serving_config" "domain" {
  name       = "domain"
  data       = { "example.com" = "" }
  depends_on = [knative_serving.this]
}

resource "knative_serving" "this" {}
