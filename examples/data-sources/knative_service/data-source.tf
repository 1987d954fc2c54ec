# A Service deployed by another team or pipeline: use its URL here.
data "knative_service" "payments" {
  name      = "payments"
  namespace = "shop"
}

output "payments_url" {
  value = data.knative_service.payments.url
}
