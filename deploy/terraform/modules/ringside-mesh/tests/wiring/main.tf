# The wiring of the cloud examples, offline: addresses come from resources
# whose for_each is the module's own node_ids_by_region (a stand-in for
# hcloud_primary_ip), and feed the same module instance's node_addresses.
# Terraform plans this without a cycle because node_ids_by_region depends
# on the shape alone. golden.tftest.hcl's "wiring" run applies it.
module "mesh" {
  source        = "../.."
  steering_zone = "live.example.com"
  regions = {
    eu = { groups = { core = { roles = ["control", "steer", "shield"] }, edge = { count = 2, roles = ["edge"] } } }
    us = { groups = { core = { roles = ["control", "steer", "shield"], tier = "regional" }, edge = { roles = ["edge"] } } }
    ap = { groups = { core = { roles = ["control", "steer", "shield"], tier = "regional" }, edge = { roles = ["edge"] } } }
  }
  node_addresses   = { for id, ip in terraform_data.primary_ip : id => { public_ipv4 = ip.output } }
  management_cidrs = ["198.51.100.0/24"]
  secrets          = { gossip_key = "Zml4dHVyZS1nb3NzaXAta2V5LTMyLWJ5dGVzLWxvbmc=", admin_token = "wiring-admin-token-0001" }
}

locals {
  node_region = merge([for r, ids in module.mesh.node_ids_by_region : { for id in ids : id => r }]...)
  # Documentation addresses, one per node, known only after apply.
  octet = { for i, id in sort(keys(local.node_region)) : id => 10 + i }
}

resource "terraform_data" "primary_ip" {
  for_each = local.node_region
  input    = "192.0.2.${local.octet[each.key]}"
}

output "node_configs" { value = module.mesh.node_configs }
output "dns_delegation" { value = module.mesh.dns_delegation }
