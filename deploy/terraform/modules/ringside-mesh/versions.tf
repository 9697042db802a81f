# Provider-free: the module only computes. Its outputs feed whatever
# provider creates the machines, firewalls and DNS records (see
# ../../examples). terraform_data is built in.
terraform {
  required_version = ">= 1.6.0"
}
