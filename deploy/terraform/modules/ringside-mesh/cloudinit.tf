# One cloud-init document per node: install ringside, write its config,
# secrets and certificates, start the unit.
locals {
  unit = file("${path.module}/../../../systemd/ringside.service")

  env_files = { for id, n in local.nodes : id => join("", concat(
    ["# ringside secrets (rendered by deploy/terraform/modules/ringside-mesh)\n",
      "${local.env.gossip}=${var.secrets.gossip_key}\n",
    "${local.env.admin}=${var.secrets.admin_token}\n"],
    [for t in [var.secrets.read_only_token] : "${local.env.read_only}=${t}\n" if t != null],
    [for e in local.push_events : "${local.stream_key_env[e]}=${try(var.stream_keys[e], "")}\n" if contains(n.roles, "control")],
  )) }

  # (Lists filtered by a condition, not cond ? [...] : []: HCL refuses a
  # conditional between tuples of different lengths.)
  tls_files = { for id, n in local.nodes : id => [for f in [
    { path = local.paths.ca, permissions = "0644", content = try(var.tls.ca_pem, "") },
    { path = local.paths.cert, permissions = "0640", content = try(var.tls.nodes[id].cert_pem, "") },
    { path = local.paths.key, permissions = "0640", content = try(var.tls.nodes[id].key_pem, "") },
  ] : f if var.tls != null] }
  https_files = { for id, n in local.nodes : id => [for f in [
    { path = local.paths.https, permissions = "0640", content = try(var.player_tls.cert_pem, "") },
    { path = local.paths.https_key, permissions = "0640", content = try(var.player_tls.key_pem, "") },
  ] : f if var.https && var.player_tls != null && length(setintersection(n.roles, local.https_roles)) > 0] }

  install_mode = var.install == null ? "image" : (try(var.install.deb_url, null) != null ? "deb" : "binary")
  # Files arrive as root (cloud-init writes them before the package makes
  # the ringside user); the last steps hand the readable ones to its group.
  install_cmds = {
    image = []
    deb = [
      ["sh", "-c", "curl -fsSL --retry 5 -o /var/tmp/ringside.deb \"$0\" && echo \"$1  /var/tmp/ringside.deb\" | sha256sum -c -", try(var.install.deb_url, ""), try(var.install.sha256, "")],
      # --force-confold keeps the config and env file written above.
      ["sh", "-c", "DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold /var/tmp/ringside.deb && rm -f /var/tmp/ringside.deb"],
    ]
    binary = [
      ["sh", "-c", "curl -fsSL --retry 5 -o /var/tmp/ringside \"$0\" && echo \"$1  /var/tmp/ringside\" | sha256sum -c - && install -m 0755 /var/tmp/ringside /usr/bin/ringside && rm -f /var/tmp/ringside", try(var.install.binary_url, ""), try(var.install.sha256, "")],
      ["sh", "-c", "getent passwd ringside >/dev/null || useradd --system --user-group --home-dir /var/lib/ringside --no-create-home --shell /usr/sbin/nologin ringside"],
      ["install", "-d", "-o", "ringside", "-g", "ringside", "-m", "0750", local.paths.data],
    ]
  }
  finish_cmds = [
    ["sh", "-c", "chgrp -R ringside /etc/ringside && chmod 0750 /etc/ringside && chmod 0640 ${local.paths.config} && chown root:root ${local.paths.env} && chmod 0600 ${local.paths.env} && if [ -d /etc/ringside/tls ]; then chmod 0750 /etc/ringside/tls; fi"],
    ["systemctl", "daemon-reload"],
    ["systemctl", "enable", "ringside.service"],
    ["systemctl", "restart", "ringside.service"],
  ]

  cloud_init = { for id, n in local.nodes : id => join("", ["#cloud-config\n", yamlencode({
    write_files = concat(
      [
        { path = local.paths.config, owner = "root:root", permissions = "0640", content = local.config_yaml[id] },
        { path = local.paths.env, owner = "root:root", permissions = "0600", content = local.env_files[id] },
      ],
      [for f in local.tls_files[id] : merge(f, { owner = "root:root" })],
      [for f in local.https_files[id] : merge(f, { owner = "root:root" })],
      [for u in [local.unit] : { path = "/etc/systemd/system/ringside.service", owner = "root:root", permissions = "0644", content = u } if local.install_mode == "binary"],
    )
    runcmd = concat(local.install_cmds[local.install_mode], local.finish_cmds)
  })]) }
}
