output "nodes" {
  value = module.mesh.nodes
}

output "ca_issue_commands" {
  description = "Run these after ringside ca init --dir pki, once the primary IPs exist (terraform apply -target=hcloud_primary_ip.node)."
  value       = module.mesh.ca_issue_commands
}

output "control_requests" {
  description = "Admin API calls for the regions and CDNs, once the mesh is up."
  value       = module.mesh.control_requests
}

output "admin_url" {
  value = module.mesh.nodes[module.mesh.control_voters[0]].admin_url
}

output "name_servers" {
  value = module.mesh.dns_delegation.name_servers
}
