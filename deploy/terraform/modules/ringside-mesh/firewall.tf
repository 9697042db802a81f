# The firewall as data: one rule per (port, protocol, sources), with the
# nodes it opens. Node-to-node ports are open to the nodes' own addresses
# only; the admin API to management_cidrs only.
locals {
  peer_cidrs  = distinct(concat([for id, n in local.nodes : "${n.public}/32"], [for id, n in local.nodes : "${n.private}/32" if n.private != null]))
  voter_cidrs = distinct(concat([for id in local.voters : "${local.nodes[id].public}/32"], [for id in local.voters : "${local.nodes[id].private}/32" if local.nodes[id].private != null]))
  players     = distinct(concat(local.with_role["edge"], local.with_role["steer"]))
  https_nodes = [for id, n in local.nodes : id if length(setintersection(n.roles, local.https_roles)) > 0]

  firewall_rules = [for r in concat(
    [
      { name = "http", protocol = "tcp", port = var.ports.http, source_cidrs = local.world, node_ids = local.players,
      description = "players: /live, /steer, /play, /r on the edges and steer nodes (http.listen)" },
      { name = "ingest-http", protocol = "tcp", port = var.ports.http, source_cidrs = var.encoder_cidrs, node_ids = local.with_role["ingest"],
      description = "encoders push to the ingest nodes (http.listen)" },
    ],
    [for r in [
      { name = "https", protocol = "tcp", port = var.ports.https, source_cidrs = local.world, node_ids = [for id in local.players : id if contains(local.https_nodes, id)],
      description = "players over HTTPS (http.tls_listen)" },
      { name = "ingest-https", protocol = "tcp", port = var.ports.https, source_cidrs = var.encoder_cidrs, node_ids = local.with_role["ingest"],
      description = "encoders over HTTPS (http.tls_listen)" },
    ] : r if var.https],
    [
      { name = "gossip-tcp", protocol = "tcp", port = var.ports.gossip, source_cidrs = local.peer_cidrs, node_ids = local.node_ids,
      description = "memberlist gossip, encrypted (mesh.bind)" },
      { name = "gossip-udp", protocol = "udp", port = var.ports.gossip, source_cidrs = local.peer_cidrs, node_ids = local.node_ids,
      description = "memberlist gossip, encrypted (mesh.bind)" },
      { name = "mesh", protocol = "tcp", port = var.ports.mesh, source_cidrs = local.peer_cidrs, node_ids = local.node_ids,
      description = "node-to-node mutual TLS: peer fetches, push fill, config follow (mesh.listen)" },
      { name = "raft", protocol = "tcp", port = var.ports.raft, source_cidrs = local.voter_cidrs, node_ids = local.voters,
      description = "Raft between control voters, mutual TLS (control.raft_bind)" },
      { name = "dns-udp", protocol = "udp", port = var.ports.dns, source_cidrs = local.world, node_ids = local.steers,
      description = "authoritative steering DNS (steering.dns_listen)" },
      { name = "dns-tcp", protocol = "tcp", port = var.ports.dns, source_cidrs = local.world, node_ids = local.steers,
      description = "authoritative steering DNS over TCP (steering.dns_listen)" },
      { name = "admin", protocol = "tcp", port = var.ports.admin, source_cidrs = var.management_cidrs, node_ids = local.node_ids,
      description = "admin API, HTTPS (admin.listen): the management network only" },
    ],
  ) : merge(r, { direction = "in" }) if length(r.node_ids) > 0 && length(r.source_cidrs) > 0]

  firewall_by_node = { for id in local.node_ids : id => [for r in local.firewall_rules : {
    name = r.name, protocol = r.protocol, port = r.port, source_cidrs = r.source_cidrs, description = r.description
  } if contains(r.node_ids, id)] }
}
