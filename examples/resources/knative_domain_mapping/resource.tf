# Serve a Knative Service on a domain of its own. The provider creates the
# ClusterDomainClaim that gives the namespace the domain, and deletes it with the mapping.
resource "knative_domain_mapping" "app" {
  name      = "app.example.com"
  namespace = knative_service.hello.namespace
  ref       = { name = knative_service.hello.name }
}

# HTTPS with a certificate of your own (a kubernetes.io/tls Secret in the namespace),
# on a domain whose claim is managed elsewhere.
resource "knative_domain_mapping" "shop" {
  name         = "shop.example.com"
  ref          = { name = "shop" }
  tls          = { secret_name = "shop-example-com-tls" }
  claim_domain = false
}

output "app_url" {
  value = knative_domain_mapping.app.url # "http://app.example.com"
}
