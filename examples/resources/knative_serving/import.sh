# Adopt an existing installation; its version is detected from the cluster.
terraform import knative_serving.this knative-serving
