# The connection settings are those of the hashicorp/kubernetes provider.

# A kubeconfig file and context (kind, for example: kind get kubeconfig > kind.yaml).
provider "knative" {
  config_path    = "~/.kube/config"
  config_context = "kind-kind"
}

# An API server address with explicit credentials, such as outputs of the
# resource that creates the cluster in the same apply.
provider "knative" {
  alias                  = "explicit"
  host                   = "https://203.0.113.10:6443"
  token                  = var.cluster_token
  cluster_ca_certificate = var.cluster_ca_certificate
}

# A credential plugin, such as the one cloud CLIs provide.
provider "knative" {
  alias                  = "eks"
  host                   = var.eks_endpoint
  cluster_ca_certificate = var.eks_ca_certificate
  exec {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", "platform"]
  }
  qps = 100 # a gentler client for a shared API server; unset: no client-side limit
}

variable "cluster_token" {
  type      = string
  sensitive = true
}
variable "cluster_ca_certificate" { type = string }
variable "eks_endpoint" { type = string }
variable "eks_ca_certificate" { type = string }
