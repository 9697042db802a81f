# Shapes and inputs the module refuses, each with the operator's words.
variables {
  steering_zone    = "live.example.com"
  management_cidrs = ["10.0.0.0/8"]
  secrets = {
    gossip_key  = "Zml4dHVyZS1nb3NzaXAta2V5LTMyLWJ5dGVzLWxvbmc="
    admin_token = "fixture-admin-token-0001"
  }
  regions = {
    solo = { groups = { all = { roles = ["control", "steer", "shield", "edge", "ingest"] } } }
  }
  node_addresses = { "solo-all-1" = { public_ipv4 = "192.0.2.1" } }
}

run "one_node_is_a_mesh" {
  command = plan
  assert {
    condition     = yamldecode(output.node_configs["solo-all-1"]).mesh.profile == "lan" && yamldecode(output.node_configs["solo-all-1"]).mesh.seeds == []
    error_message = "a single region gossips with lan; a lone voter has no seeds"
  }
  assert {
    condition     = !strcontains(output.cloud_init["solo-all-1"], "dpkg") && strcontains(output.cloud_init["solo-all-1"], "systemctl")
    error_message = "without install, cloud-init only writes files and starts the unit the image has"
  }
}

run "binary_install_writes_the_unit" {
  command = plan
  variables {
    install = { binary_url = "https://downloads.example.com/ringside", sha256 = "1111111111111111111111111111111111111111111111111111111111111111" }
  }
  assert {
    condition     = strcontains(output.cloud_init["solo-all-1"], "/etc/systemd/system/ringside.service") && strcontains(output.cloud_init["solo-all-1"], "useradd --system")
    error_message = "a bare binary install writes the unit and creates the ringside user"
  }
}

run "two_voters" {
  command = plan
  variables {
    regions = {
      a = { groups = { core = { count = 2, roles = ["control", "shield"] } } }
    }
    node_addresses = { "a-core-1" = { public_ipv4 = "192.0.2.1" }, "a-core-2" = { public_ipv4 = "192.0.2.2" } }
  }
  expect_failures = [terraform_data.mesh]
}

run "missing_address" {
  command = plan
  variables {
    node_addresses = {}
  }
  expect_failures = [terraform_data.mesh]
}

run "push_event_without_key" {
  command = plan
  variables {
    events = [{ id = "fight-night" }]
  }
  expect_failures = [terraform_data.mesh]
}

run "https_without_certificate" {
  command = plan
  variables {
    https = true
  }
  expect_failures = [terraform_data.mesh]
}

run "edges_without_shield" {
  command = plan
  variables {
    regions = {
      a = { groups = { core = { roles = ["control"] }, edge = { roles = ["edge"] } } }
    }
    node_addresses = { "a-core-1" = { public_ipv4 = "192.0.2.1" }, "a-edge-1" = { public_ipv4 = "192.0.2.2" } }
  }
  expect_failures = [terraform_data.mesh]
}

run "unknown_role" {
  command = plan
  variables {
    regions = { a = { groups = { core = { roles = ["control", "origin"] } } } }
  }
  expect_failures = [var.regions]
}

run "tier_without_shield" {
  command = plan
  variables {
    regions = { a = { groups = { core = { roles = ["control"], tier = "regional" } } } }
  }
  expect_failures = [var.regions]
}

run "bad_gossip_key" {
  command = plan
  variables {
    secrets = { gossip_key = "short", admin_token = "fixture-admin-token-0001" }
  }
  expect_failures = [var.secrets]
}

run "install_needs_one_source" {
  command = plan
  variables {
    install = { sha256 = "1111111111111111111111111111111111111111111111111111111111111111" }
  }
  expect_failures = [var.install]
}
