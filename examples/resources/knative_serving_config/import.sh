# Adopts the config map's current keys (except _example and the keys knative_serving sets).
terraform import knative_serving_config.autoscaler config-autoscaler
