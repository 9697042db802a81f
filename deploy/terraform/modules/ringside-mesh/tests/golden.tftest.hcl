# The fixture's rendering, checked two ways: against the golden files that
# deploy/terraform/rendercheck loads with the node's own config loader (so
# the module and the binary never drift apart unnoticed), and by what an
# operator relies on. Offline: no provider, only terraform_data.

run "golden" {
  command = apply
  module {
    source = "./tests/fixture"
  }

  assert {
    condition     = sort(keys(output.node_configs)) == sort([for f in fileset("tests/golden/configs", "*.yaml") : trimsuffix(f, ".yaml")])
    error_message = "tests/golden/configs holds a file per node and no other: regenerate with go test ./deploy/terraform/rendercheck -update"
  }
  assert {
    condition     = alltrue([for id, y in output.node_configs : y == file("tests/golden/configs/${id}.yaml")])
    error_message = "node_configs differ from tests/golden/configs: regenerate with go test ./deploy/terraform/rendercheck -update, and read the diff"
  }
  assert {
    condition     = alltrue([for id, y in output.cloud_init : y == file("tests/golden/cloud-init/${id}.yaml")]) && length(fileset("tests/golden/cloud-init", "*.yaml")) == length(output.cloud_init)
    error_message = "cloud_init differs from tests/golden/cloud-init: regenerate with go test ./deploy/terraform/rendercheck -update"
  }
  assert {
    condition     = jsonencode(jsondecode(file("tests/golden/firewall_rules.json"))) == jsonencode(output.firewall_rules)
    error_message = "firewall_rules differs from tests/golden/firewall_rules.json: regenerate with go test ./deploy/terraform/rendercheck -update"
  }
  assert {
    condition     = jsonencode(jsondecode(file("tests/golden/dns_delegation.json"))) == jsonencode(output.dns_delegation)
    error_message = "dns_delegation differs from tests/golden/dns_delegation.json: regenerate with go test ./deploy/terraform/rendercheck -update"
  }
  assert {
    condition     = jsonencode(jsondecode(file("tests/golden/control_requests.json"))) == jsonencode(output.control_requests)
    error_message = "control_requests differs from tests/golden/control_requests.json: regenerate with go test ./deploy/terraform/rendercheck -update"
  }
  assert {
    condition     = jsonencode(jsondecode(file("tests/golden/ca_issue_commands.json"))) == jsonencode(output.ca_issue_commands)
    error_message = "ca_issue_commands differs from tests/golden/ca_issue_commands.json: regenerate with go test ./deploy/terraform/rendercheck -update"
  }
}

run "shape" {
  command = apply
  module {
    source = "./tests/fixture"
  }

  # 3 regions: eu (core + 2 edges), us (core + 2 edges), ap (core + 1 edge).
  assert {
    condition     = length(output.nodes) == 8
    error_message = "the fixture's shape is 8 nodes"
  }
  # Every voter bootstraps with the same three voters, on their public addresses.
  assert {
    condition = alltrue([for id in ["eu-core-1", "us-core-1", "ap-core-1"] :
      yamldecode(output.node_configs[id]).control.bootstrap == [
        { id = "ap-core-1", addr = "203.0.113.10:7000" },
        { id = "eu-core-1", addr = "192.0.2.10:7000" },
        { id = "us-core-1", addr = "198.51.100.10:7000" },
    ]])
    error_message = "control.bootstrap must list the three voters on every voter"
  }
  # Edges: no Raft, no seed events, joined through the voters.
  assert {
    condition = alltrue([for id in ["eu-edge-1", "us-edge-2", "ap-edge-1"] :
      !can(yamldecode(output.node_configs[id]).control.raft_bind) && length(yamldecode(output.node_configs[id]).events) == 0
    && length(yamldecode(output.node_configs[id]).mesh.seeds) == 3])
    error_message = "an edge has no raft_bind, no events, and the three voters as seeds"
  }
  assert {
    condition     = yamldecode(output.node_configs["us-core-1"]).node.tier == "regional" && !can(yamldecode(output.node_configs["eu-core-1"]).node.tier)
    error_message = "tier is rendered only where the group sets it"
  }
  assert {
    condition     = yamldecode(output.node_configs["eu-core-1"]).admin.listen == "10.1.0.10:8081" && yamldecode(output.node_configs["us-core-1"]).admin.listen == "198.51.100.10:8081"
    error_message = "admin.listen is the private address when there is one, else the public one"
  }
  assert {
    condition     = yamldecode(output.node_configs["eu-core-1"]).mesh.profile == "wan"
    error_message = "a mesh over several regions gossips with the wan profile"
  }
  # Secrets: never in a config, in the env file; stream keys on voters only.
  assert {
    condition     = alltrue([for id, y in output.node_configs : !strcontains(y, "fixture-admin-token") && !strcontains(y, "fixture-stream-key")])
    error_message = "a node config holds a secret"
  }
  assert {
    condition     = strcontains(output.cloud_init["eu-core-1"], "RINGSIDE_STREAM_KEY_FIGHT_NIGHT=fixture-stream-key-0001") && !strcontains(output.cloud_init["eu-edge-1"], "fixture-stream-key")
    error_message = "stream keys go to the control voters' env files only"
  }
  assert {
    condition     = alltrue([for id, c in output.cloud_init : startswith(c, "#cloud-config\n")])
    error_message = "cloud-init user data starts with #cloud-config"
  }
  # Firewall: node-to-node ports only from the nodes, admin only from management.
  assert {
    condition = alltrue([for r in output.firewall_rules : (
      contains(["gossip-tcp", "gossip-udp", "mesh"], r.name) ? length(r.source_cidrs) == 11 && contains(r.source_cidrs, "192.0.2.10/32") && !contains(r.source_cidrs, "0.0.0.0/0") :
      r.name == "raft" ? sort(r.source_cidrs) == sort(["192.0.2.10/32", "10.1.0.10/32", "198.51.100.10/32", "203.0.113.10/32"]) && sort(r.node_ids) == sort(["eu-core-1", "us-core-1", "ap-core-1"]) :
      r.name == "admin" ? sort(r.source_cidrs) == sort(["10.0.0.0/8"]) :
      startswith(r.name, "dns") ? r.port == 53 && sort(r.node_ids) == sort(["eu-core-1", "us-core-1", "ap-core-1"]) :
      r.name == "ingest-http" ? sort(r.node_ids) == sort(["eu-core-1"]) && sort(r.source_cidrs) == sort(["192.0.2.128/25"]) :
      true
    )])
    error_message = "firewall rules: gossip/mesh from the nodes' addresses, raft between voters, admin from management, DNS on steer nodes, ingest from encoders"
  }
  assert {
    condition     = length(distinct([for r in output.firewall_rules : r.name])) == 11
    error_message = "11 rules: http, ingest-http, https, ingest-https, gossip tcp+udp, mesh, raft, dns udp+tcp, admin"
  }
  # Delegation: NS at the parent plus one glue A per steer node.
  assert {
    condition = output.dns_delegation.parent_records[0].type == "NS" && output.dns_delegation.parent_records[0].name == "live.example.com." && length(output.dns_delegation.parent_records) == 4 && alltrue([
      for r in slice(output.dns_delegation.parent_records, 1, 4) : r.type == "A" && endswith(r.name, ".live.example.com.") && length(r.values) == 1
    ])
    error_message = "dns_delegation: one NS record set and three glue A records"
  }
  assert {
    condition     = length(output.control_requests) == 5 && output.control_requests[0].path == "/admin/v1/regions/ap"
    error_message = "control_requests: three regions and two CDNs"
  }
}

run "wiring" {
  command = apply
  module {
    source = "./tests/wiring"
  }
  assert {
    condition     = length(output.node_configs) == 7 && yamldecode(output.node_configs["eu-edge-1"]).http.listen == "192.0.2.13:80"
    error_message = "addresses made by resources keyed on node_ids_by_region reach the configs"
  }
  assert {
    condition     = length(output.dns_delegation.parent_records) == 4
    error_message = "NS + 3 glue records"
  }
}
