# namespace/name; defaults Knative's webhook added are not adopted.
terraform import knative_service.hello default/hello
