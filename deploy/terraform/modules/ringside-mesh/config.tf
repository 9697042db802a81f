# One node configuration per node, in the binary's YAML keys (README
# "Configuration"; node/config.go). Optional sections are merged in from
# one-element lists ([for _ in [1] : {...} if cond]...): a conditional
# between objects or tuples of different shapes is a type error in HCL. deploy/terraform/rendercheck loads the
# rendered files with the node's own config loader.
locals {
  configs = { for id, n in local.nodes : id => {
    node = merge({ id = id, roles = n.roles, region = n.region }, [for t in [n.tier] : { tier = t } if t != null]...)
    http = merge(
      { listen = "${n.public}:${var.ports.http}" },
      [for _ in [1] : {
        tls_listen = "${n.public}:${var.ports.https}"
        tls        = [{ cert = local.paths.https, key = local.paths.https_key }]
      } if var.https && length(setintersection(n.roles, local.https_roles)) > 0]...
    )
    identity = { cert = local.paths.cert, key = local.paths.key, ca = local.paths.ca }
    mesh = {
      bind = "${n.public}:${var.ports.gossip}"
      # Voters are the stable members: everyone joins through them.
      seeds          = [for v in local.voters : "${local.nodes[v].public}:${var.ports.gossip}" if v != id]
      secret_key_env = local.env.gossip
      listen         = "${n.public}:${var.ports.mesh}"
      profile        = local.profile
    }
    admin = {
      listen              = "${coalesce(n.private, n.public)}:${var.ports.admin}"
      token_env           = local.env.admin
      read_only_token_env = local.env.read_only
      # The node certificate serves the admin API: operators trust ca.pem.
      tls = [{ cert = local.paths.cert, key = local.paths.key }]
    }
    control = merge(
      { data_dir = local.paths.data },
      [for _ in [1] : {
        raft_bind = "${n.public}:${var.ports.raft}"
        bootstrap = [for v in local.voters : { id = v, addr = "${local.nodes[v].public}:${var.ports.raft}" }]
      } if contains(n.roles, "control")]...
    )
    steering = merge(
      { zone = local.zone },
      [for _ in [1] : {
        dns_listen = "${n.public}:${var.ports.dns}"
        ns         = local.name_servers[*].name
      } if contains(n.roles, "steer")]...
    )
    events = [for e in local.seed_events : e if contains(n.roles, "control")]
    log    = { level = "info", format = var.log_format }
  } }

  config_yaml = { for id, c in local.configs : id => join("", [
    "# ringside node ${id}: rendered by deploy/terraform/modules/ringside-mesh.\n",
    "# Secrets come from ${local.paths.env} (the *_env keys).\n",
    yamlencode(c),
  ]) }
}
