# A preview URL beside the Service's own: half of its traffic stays on a pinned
# revision, half follows the Service's latest ready revision (its Configuration
# has the Service's name). Each target gets its own URL through its tag.
resource "knative_route" "preview" {
  name = "preview"

  traffic = [
    { revision_name = "hello-v1", percent = 50, tag = "stable" },
    { configuration_name = knative_service.hello.name, percent = 50, tag = "candidate" },
  ]
}

output "preview_urls" {
  value = { for t in knative_route.preview.traffic_status : t.tag => t.url }
}
