# Plans the example against mock providers (Terraform >= 1.7, OpenTofu >=
# 1.8). The mocks need the providers' schemas, so `terraform init` must
# have downloaded hcloud and aws: this test is NOT run by make test (this
# project's machines reach no provider registry). Run it where they can:
#   terraform init && terraform test
mock_provider "hcloud" {
  mock_resource "hcloud_primary_ip" {
    defaults = { ip_address = "192.0.2.10", id = "1" }
  }
}
mock_provider "aws" {
  mock_data "aws_route53_zone" {
    defaults = { zone_id = "Z0000000000000" }
  }
}

variables {
  hcloud_token     = "mock"
  parent_zone      = "example.com"
  steering_zone    = "live.example.com"
  management_cidrs = ["198.51.100.0/24"]
  pki_dir          = "tests/pki"
  deb_url          = "https://downloads.example.com/ringside.deb"
  deb_sha256       = "0000000000000000000000000000000000000000000000000000000000000000"
  gossip_key       = "Zml4dHVyZS1nb3NzaXAta2V5LTMyLWJ5dGVzLWxvbmc="
  admin_token      = "mock-admin-token-0001"
}

run "plan" {
  command = plan
  assert {
    condition     = length(hcloud_server.node) == 9 && length(hcloud_firewall.node) == 9
    error_message = "one server and one firewall per node of the default shape"
  }
  assert {
    condition     = length(aws_route53_record.delegation) == 4
    error_message = "NS + 3 glue records at the parent"
  }
}
