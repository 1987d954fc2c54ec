# namespace/name; a Knative Service's own Route is managed through the Service.
terraform import knative_route.preview default/preview
