# The delegation of the steering zone to the steer nodes: what the parent
# zone must hold (NS records and, since the name servers are named inside
# the zone, their glue A records).
locals {
  dns_delegation = {
    zone         = local.zone
    name_servers = local.name_servers
    parent_records = concat(
      [for z in [local.zone] : { name = z, type = "NS", ttl = var.dns_ttl, values = local.name_servers[*].name } if length(local.name_servers) > 0],
      [for ns in local.name_servers : { name = ns.name, type = "A", ttl = var.dns_ttl, values = [ns.ipv4] }],
    )
  }
}
