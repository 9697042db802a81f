locals {
  zone  = endswith(var.steering_zone, ".") ? var.steering_zone : "${var.steering_zone}."
  world = ["0.0.0.0/0", "::/0"]

  # Every node of every group, ordered by region, group, index (map keys
  # iterate sorted).
  node_list = flatten([for r, region in var.regions : [for g, group in region.groups : [
    for i in range(group.count) : {
      id     = "${r}-${g}-${i + 1}"
      region = r
      group  = g
      roles  = sort(distinct(group.roles))
      tier   = group.tier
    }
  ]]])
  nodes = { for n in local.node_list : n.id => merge(n, {
    # A missing address renders as 0.0.0.0 and fails the checks in
    # terraform_data.mesh, which names the nodes without one.
    public  = try(var.node_addresses[n.id].public_ipv4, "0.0.0.0")
    private = try(var.node_addresses[n.id].private_ipv4, null)
  }) }
  node_ids = keys(local.nodes)

  with_role = { for role in ["ingest", "shield", "edge", "control", "steer"] :
  role => [for id, n in local.nodes : id if contains(n.roles, role)] }
  voters = local.with_role["control"]
  steers = local.with_role["steer"]
  # ns1.{zone} ... one per steer node, in node-id order.
  name_servers = [for i, id in local.steers : { name = "ns${i + 1}.${local.zone}", node_id = id, ipv4 = local.nodes[id].public }]

  profile = coalesce(var.gossip_profile, length(var.regions) > 1 ? "wan" : "lan")

  # Where the node keeps what cloud-init writes (the node reads them as the
  # ringside user; the env file is root-only, read by systemd).
  paths = {
    config    = "/etc/ringside/ringside.yaml"
    env       = "/etc/ringside/ringside.env"
    ca        = "/etc/ringside/tls/ca.pem"
    cert      = "/etc/ringside/tls/node.pem"
    key       = "/etc/ringside/tls/node-key.pem"
    https     = "/etc/ringside/tls/https.pem"
    https_key = "/etc/ringside/tls/https-key.pem"
    data      = "/var/lib/ringside"
  }
  env = {
    gossip    = "RINGSIDE_GOSSIP_KEY"
    admin     = "RINGSIDE_ADMIN_TOKEN"
    read_only = "RINGSIDE_READ_TOKEN"
  }
  stream_key_env = { for e in var.events : e.id => "RINGSIDE_STREAM_KEY_${upper(replace(e.id, "-", "_"))}" }

  # The seed of the control plane's document: only voters carry it (the
  # other nodes follow the committed document), so only voters get the
  # stream keys.
  seed_events = [for e in var.events : merge(concat(
    [{ id = e.id }],
    [for t in [e.title] : { title = t } if t != null],
    [e.pull_url == null ? { stream_key_env = local.stream_key_env[e.id] } : { pull_url = e.pull_url }],
    [for p in [e.low_latency_part_target] : { low_latency = { enabled = true, part_target = p } } if p != null],
  )...)]
  push_events = [for e in var.events : e.id if e.pull_url == null]

  https_roles = ["edge", "steer", "ingest"]
}

# The mesh's consistency checks: they fail the plan with every problem the
# variables' own validations cannot see (those look at one variable).
resource "terraform_data" "mesh" {
  input = { nodes = local.node_ids, voters = local.voters, name_servers = local.name_servers[*].name }

  lifecycle {
    precondition {
      condition     = contains([1, 3, 5], length(local.voters))
      error_message = "regions: the control role needs 1, 3 or 5 nodes (Raft voters); the shape has ${length(local.voters)}."
    }
    precondition {
      condition     = length(setsubtract(local.node_ids, keys(var.node_addresses))) == 0
      error_message = "node_addresses: no address for ${join(", ", setsubtract(local.node_ids, keys(var.node_addresses)))}."
    }
    precondition {
      condition     = alltrue([for id, n in local.nodes : length(id) <= 63])
      error_message = "regions: node ids (REGION-GROUP-N) must be at most 63 characters."
    }
    precondition {
      condition     = alltrue([for id in local.push_events : length(try(var.stream_keys[id], "")) >= 16]) && length(setsubtract(keys(var.stream_keys), local.push_events)) == 0
      error_message = "stream_keys: every push event (no pull_url) needs a key of at least 16 characters, and only push events have one."
    }
    precondition {
      condition     = !var.https || var.player_tls != null
      error_message = "player_tls: required with https = true."
    }
    precondition {
      condition     = var.tls == null || length(setsubtract(local.node_ids, keys(try(var.tls.nodes, {})))) == 0
      error_message = "tls: a certificate and key for every node (ringside ca issue, see the ca_issue_commands output)."
    }
    precondition {
      condition     = length(local.with_role["edge"]) == 0 || length(local.with_role["shield"]) > 0
      error_message = "regions: edges need at least one shield (an edge asks the key's shield owner, never the origin)."
    }
  }
}
