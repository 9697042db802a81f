# A Ringside mesh on Hetzner Cloud (servers, primary IPs, one firewall per
# server) with its steering zone delegated from a Route 53 parent zone.
# Everything Ringside-specific comes from the provider-free core module;
# this file only maps its outputs onto the providers' resources.
#
# Why Hetzner: a server's public IPv4 is on its interface, which the node
# needs (it binds and gossips that address, and steering answers players
# with it). On clouds with 1:1 NAT public addresses (AWS, GCP) the node
# cannot advertise an address it does not hold.

locals {
  # The node ids come from the shape alone (node_ids_by_region depends on
  # no address), so the primary IPs can be made before the configs that
  # name them: no cycle. The core module's tests/wiring fixture checks
  # this pattern offline.
  node_region = merge([for r, ids in module.mesh.node_ids_by_region : { for id in ids : id => r }]...)
  node_group  = { for id in keys(local.node_region) : id => split("-", id)[1] }
}

# Allocated first, so every node's config can name every other node.
resource "hcloud_primary_ip" "node" {
  for_each      = local.node_region
  name          = "ringside-${each.key}"
  type          = "ipv4"
  datacenter    = var.datacenters[each.value]
  assignee_type = "server"
  auto_delete   = false
  labels        = { ringside = each.key }
}

module "mesh" {
  source         = "../../modules/ringside-mesh"
  regions        = var.regions
  node_addresses = { for id, ip in hcloud_primary_ip.node : id => { public_ipv4 = ip.ip_address } }
  steering_zone  = var.steering_zone
  events         = var.events
  stream_keys    = var.stream_keys
  cdns           = var.cdns
  secrets        = { gossip_key = var.gossip_key, admin_token = var.admin_token }

  management_cidrs = var.management_cidrs
  encoder_cidrs    = var.encoder_cidrs
  tls = {
    ca_pem = file("${var.pki_dir}/ca.pem")
    nodes = { for id, _ in local.node_region : id => {
      cert_pem = file("${var.pki_dir}/${id}.pem")
      key_pem  = file("${var.pki_dir}/${id}-key.pem")
    } }
  }
  install = { deb_url = var.deb_url, sha256 = var.deb_sha256 }
}

resource "hcloud_firewall" "node" {
  for_each = local.node_region
  name     = "ringside-${each.key}"
  labels   = { ringside = each.key }

  dynamic "rule" {
    for_each = module.mesh.firewall_by_node[each.key]
    content {
      direction   = "in"
      protocol    = rule.value.protocol
      port        = tostring(rule.value.port)
      source_ips  = rule.value.source_cidrs
      description = rule.value.name
    }
  }
  dynamic "rule" {
    for_each = length(var.ssh_cidrs) > 0 ? ["ssh"] : []
    content {
      direction   = "in"
      protocol    = "tcp"
      port        = "22"
      source_ips  = var.ssh_cidrs
      description = "ssh"
    }
  }
}

resource "hcloud_server" "node" {
  for_each     = local.node_region
  name         = each.key
  server_type  = lookup(var.server_types, local.node_group[each.key], var.default_server_type)
  image        = var.image
  datacenter   = var.datacenters[each.value]
  ssh_keys     = var.ssh_keys
  user_data    = module.mesh.cloud_init[each.key]
  firewall_ids = [hcloud_firewall.node[each.key].id]
  labels       = { ringside = each.key, region = each.value }

  public_net {
    ipv4_enabled = true
    ipv4         = hcloud_primary_ip.node[each.key].id
    ipv6_enabled = true
  }

  lifecycle {
    # A changed config is rolled out node by node (terraform apply
    # -replace='hcloud_server.node["eu-edge-1"]'), never all at once.
    ignore_changes = [user_data]
  }
}

data "aws_route53_zone" "parent" {
  name = var.parent_zone
}

# NS for the steering zone and the glue A records of its name servers.
resource "aws_route53_record" "delegation" {
  for_each = { for r in module.mesh.dns_delegation.parent_records : "${r.name} ${r.type}" => r }
  zone_id  = data.aws_route53_zone.parent.zone_id
  name     = each.value.name
  type     = each.value.type
  ttl      = each.value.ttl
  records  = each.value.values
}
