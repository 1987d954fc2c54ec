# namespace/domain; the ClusterDomainClaim is not imported: destroy deletes it only if
# this provider created it for that namespace.
terraform import knative_domain_mapping.app default/app.example.com
