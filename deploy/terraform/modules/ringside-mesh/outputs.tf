output "nodes" {
  description = "Every node by id: region, group, roles, tier, addresses, and its admin API URL."
  value = { for id, n in local.nodes : id => {
    region      = n.region, group = n.group, roles = n.roles, tier = n.tier
    public_ipv4 = n.public, private_ipv4 = n.private
    admin_url   = "https://${coalesce(n.private, n.public)}:${var.ports.admin}"
  } }
}

output "node_ids_by_region" {
  description = "Node ids per region (known from the shape alone, before any address exists)."
  value       = { for r, _ in var.regions : r => [for n in local.node_list : n.id if n.region == r] }
}

output "node_configs" {
  description = "Each node's /etc/ringside/ringside.yaml by node id (no secrets: they are named by *_env keys)."
  value       = local.config_yaml
}

output "cloud_init" {
  description = "Each node's cloud-init user data (#cloud-config) by node id: it holds the secrets."
  value       = local.cloud_init
  sensitive   = true
}

output "firewall_rules" {
  description = "Inbound rules as data: name, protocol, port, source_cidrs, node_ids, description."
  value       = local.firewall_rules
}

output "firewall_by_node" {
  description = "The same rules per node id (for providers with one firewall per machine)."
  value       = local.firewall_by_node
}

output "dns_delegation" {
  description = "The steering zone's delegation: zone, name_servers (name, node_id, ipv4) and the parent_records (NS + glue A) to create at the parent zone."
  value       = local.dns_delegation
}

output "control_voters" {
  description = "Ids of the Raft voters (the nodes with the control role)."
  value       = local.voters
}

output "control_requests" {
  description = "Admin API calls that put the regions (client CIDRs) and CDNs into the control plane's document, once the mesh is up: method, path, JSON body."
  value = concat(
    [for r, region in var.regions : {
      method = "PUT", path = "/admin/v1/regions/${r}"
      body   = jsonencode({ name = r, cidrs = region.client_cidrs })
    } if length(region.client_cidrs) > 0],
    [for c in var.cdns : {
      method = "PUT", path = "/admin/v1/cdns/${c.id}"
      body = jsonencode({ id = c.id, hostname = c.hostname, base_url = c.base_url, weight = c.weight,
      capacity_mbps = c.capacity_mbps, state = c.state, clone = false })
    }],
  )
}

output "ca_issue_commands" {
  description = "The ringside ca issue command of each node (run after ringside ca init --dir pki), naming its id, roles and addresses."
  value = [for id, n in local.nodes : join(" ", [
    "ringside ca issue --dir pki --out pki --node", id, "--roles", join(",", n.roles),
    "--hosts", join(",", compact([n.public, n.private])),
  ])]
}
