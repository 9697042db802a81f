variable "regions" {
  description = <<-EOT
    The mesh's shape: per region (its key is the node.region of its nodes and
    the name of its steering region), groups of identical nodes. A group's
    nodes are named REGION-GROUP-N (the node ids), hold its roles (ingest,
    shield, edge, control, steer) and, for shields, its tier (origin, the
    default, or regional). client_cidrs are the client networks steered to
    this region (PUT /admin/v1/regions/REGION).
  EOT
  type = map(object({
    client_cidrs = optional(list(string), [])
    groups = map(object({
      count = optional(number, 1)
      roles = list(string)
      tier  = optional(string)
    }))
  }))
  validation {
    condition = alltrue([for r, region in var.regions : can(regex("^[a-z0-9][a-z0-9-]{0,19}$", r)) && alltrue([
      for g, _ in region.groups : can(regex("^[a-z0-9][a-z0-9-]{0,19}$", g))
    ])])
    error_message = "regions: region and group names are lower-case letters, digits and -, at most 20 characters (they make the node ids REGION-GROUP-N)."
  }
  validation {
    condition = alltrue(flatten([for region in var.regions : [for group in region.groups : [
      for role in group.roles : contains(["ingest", "shield", "edge", "control", "steer"], role)
    ]]]))
    error_message = "regions: a group's roles are among ingest, shield, edge, control, steer."
  }
  validation {
    condition = alltrue(flatten([for region in var.regions : [for group in region.groups : [
      length(group.roles) > 0,
      group.count >= 0 && floor(group.count) == group.count,
      group.tier == null || (contains(["origin", "regional"], coalesce(group.tier, "-")) && contains(group.roles, "shield")),
    ]]]))
    error_message = "regions: every group needs at least one role and a whole count >= 0; tier (origin or regional) only on groups with the shield role."
  }
}

variable "node_addresses" {
  description = <<-EOT
    Each node's addresses, by node id: public_ipv4 must be configured on the
    machine's interface (the node binds it and gossips it: steering answers
    players with the edges' HTTP addresses, so a 1:1 NAT address that is not
    on the interface does not work). private_ipv4, when set, carries the
    admin API (the management network). Usually the example allocates them
    before the machines exist.
  EOT
  type = map(object({
    public_ipv4  = string
    private_ipv4 = optional(string)
  }))
  default = {}
}

variable "steering_zone" {
  description = "The zone the steer nodes serve (live.example.com), delegated to them by the dns_delegation output."
  type        = string
  validation {
    condition     = can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}\\.?$", var.steering_zone))
    error_message = "steering_zone: a DNS name such as live.example.com."
  }
}

variable "events" {
  description = <<-EOT
    Events seeding the control plane's document on its first start (after
    that, change them with ringside ctl). A push event (no pull_url) needs
    its key in stream_keys; low_latency_part_target (e.g. 500ms) makes it
    a low-latency event.
  EOT
  type = list(object({
    id                      = string
    title                   = optional(string)
    pull_url                = optional(string)
    low_latency_part_target = optional(string)
  }))
  default = []
  validation {
    condition     = alltrue([for e in var.events : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", e.id))]) && length(distinct([for e in var.events : e.id])) == length(var.events)
    error_message = "events: ids match [a-z0-9][a-z0-9_-]{0,62} and are unique."
  }
}

variable "stream_keys" {
  description = "Stream keys of the push events, by event id (at least 16 characters; only control voters get them, in their env file)."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "cdns" {
  description = "Third-party CDNs for steering (PUT /admin/v1/cdns/ID, in the control_requests output)."
  type = list(object({
    id            = string
    hostname      = string
    base_url      = optional(string, "")
    weight        = optional(number, 100)
    capacity_mbps = optional(number, 0)
    state         = optional(string, "active")
  }))
  default = []
  validation {
    condition     = alltrue([for c in var.cdns : contains(["active", "draining", "disabled"], c.state) && c.weight >= 0 && c.weight <= 1000])
    error_message = "cdns: state is active, draining or disabled; weight 0 to 1000."
  }
}

variable "secrets" {
  description = <<-EOT
    gossip_key: base64 of 16, 24 or 32 bytes (head -c 32 /dev/urandom | base64);
    admin_token (and read_only_token): the admin API's bearer tokens. They
    reach the nodes only through cloud-init's /etc/ringside/ringside.env.
  EOT
  type = object({
    gossip_key      = string
    admin_token     = string
    read_only_token = optional(string)
  })
  sensitive = true
  validation {
    condition = (can(regex("^[A-Za-z0-9+/]+={0,2}$", var.secrets.gossip_key)) && contains([24, 32, 44], length(var.secrets.gossip_key))
      && can(regex("^[A-Za-z0-9+/=._~-]{16,}$", var.secrets.admin_token))
    && (var.secrets.read_only_token == null || can(regex("^[A-Za-z0-9+/=._~-]{16,}$", coalesce(var.secrets.read_only_token, "-")))))
    error_message = "secrets: gossip_key is base64 of 16, 24 or 32 bytes; tokens are at least 16 characters of A-Z a-z 0-9 + / = . _ ~ -."
  }
}

variable "management_cidrs" {
  description = "Networks allowed to reach the admin API (admin.listen, HTTPS with the node certificate)."
  type        = list(string)
}

variable "encoder_cidrs" {
  description = "Networks allowed to push to the ingest nodes' HTTP(S) listener (stream keys guard it as well)."
  type        = list(string)
  default     = ["0.0.0.0/0", "::/0"]
}

variable "ports" {
  description = "Listener ports."
  type = object({
    http   = optional(number, 80)
    https  = optional(number, 443)
    gossip = optional(number, 7946)
    mesh   = optional(number, 7947)
    raft   = optional(number, 7000)
    admin  = optional(number, 8081)
    dns    = optional(number, 53)
  })
  default = {}
}

variable "https" {
  description = "Serve players and encoders over HTTPS too (http.tls_listen on ports.https) with player_tls."
  type        = bool
  default     = false
}

variable "player_tls" {
  description = "The players' HTTPS certificate (PEM, leaf first) and key, written to every node with https."
  type = object({
    cert_pem = string
    key_pem  = string
  })
  default   = null
  sensitive = true
}

variable "tls" {
  description = <<-EOT
    The cluster CA (ca.pem) and each node's certificate and key by node id,
    from `ringside ca init` and the ca_issue_commands output, written by
    cloud-init to /etc/ringside/tls/. Null: put them there yourself.
  EOT
  type = object({
    ca_pem = string
    nodes = map(object({
      cert_pem = string
      key_pem  = string
    }))
  })
  default   = null
  sensitive = true
}

variable "install" {
  description = <<-EOT
    How cloud-init installs ringside: deb_url (the .deb of make package) or
    binary_url (a bare linux binary; cloud-init then writes the systemd unit
    and creates the ringside user itself), with its sha256. Null: the image
    already has it.
  EOT
  type = object({
    deb_url    = optional(string)
    binary_url = optional(string)
    sha256     = string
  })
  default = null
  validation {
    condition     = var.install == null || ((try(var.install.deb_url, null) == null) != (try(var.install.binary_url, null) == null) && can(regex("^[0-9a-f]{64}$", try(var.install.sha256, ""))))
    error_message = "install: exactly one of deb_url and binary_url, and a sha256 of 64 hex digits."
  }
}

variable "gossip_profile" {
  description = "mesh.profile: lan or wan; default wan when the mesh spans more than one region, else lan."
  type        = string
  default     = null
  validation {
    condition     = var.gossip_profile == null || contains(["lan", "wan"], coalesce(var.gossip_profile, "-"))
    error_message = "gossip_profile: lan or wan."
  }
}

variable "log_format" {
  description = "log.format of every node: json or text."
  type        = string
  default     = "json"
  validation {
    condition     = contains(["json", "text"], var.log_format)
    error_message = "log_format: json or text."
  }
}

variable "dns_ttl" {
  description = "TTL of the delegation records (NS and glue) at the parent zone."
  type        = number
  default     = 3600
}
