data "knative_serving" "this" {}

output "knative_serving_version" {
  value = data.knative_serving.this.installed ? data.knative_serving.this.version : "not installed"
}
