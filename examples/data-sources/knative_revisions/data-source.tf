data "knative_revisions" "payments" {
  service   = "payments"
  namespace = "shop"
}

# What each revision runs and how much traffic it gets: for audits and rollbacks.
output "payments_revisions" {
  value = {
    for r in data.knative_revisions.payments.revisions :
    r.name => { image = r.image, digest = r.image_digest, percent = r.traffic_percent, ready = r.ready }
  }
}
