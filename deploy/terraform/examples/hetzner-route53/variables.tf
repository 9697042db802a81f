variable "hcloud_token" {
  description = "Hetzner Cloud API token (read/write) of the project the mesh goes in."
  type        = string
  sensitive   = true
}

variable "parent_zone" {
  description = "The Route 53 hosted zone that delegates the steering zone (example.com)."
  type        = string
}

variable "steering_zone" {
  description = "The zone the steer nodes serve, under parent_zone (live.example.com)."
  type        = string
}

variable "regions" {
  description = "The mesh's shape (see the core module's regions variable). Default: 3 regions, a core node (control, steer, shield) and edges in each; the origin shield and the ingest in eu."
  type = map(object({
    client_cidrs = optional(list(string), [])
    groups = map(object({
      count = optional(number, 1)
      roles = list(string)
      tier  = optional(string)
    }))
  }))
  default = {
    eu = { groups = {
      core = { roles = ["control", "steer", "shield", "ingest"] }
      edge = { count = 2, roles = ["edge"] }
    } }
    us = { groups = {
      core = { roles = ["control", "steer", "shield"], tier = "regional" }
      edge = { count = 2, roles = ["edge"] }
    } }
    ap = { groups = {
      core = { roles = ["control", "steer", "shield"], tier = "regional" }
      edge = { count = 2, roles = ["edge"] }
    } }
  }
}

variable "datacenters" {
  description = "Hetzner datacenter of each region (a primary IP is created in one before its server)."
  type        = map(string)
  default     = { eu = "fsn1-dc14", us = "ash-dc1", ap = "sin-dc1" }
}

variable "server_types" {
  description = "Server type per group name; others get default_server_type."
  type        = map(string)
  default     = { core = "cpx31", edge = "cpx41" }
}

variable "default_server_type" {
  type    = string
  default = "cpx21"
}

variable "image" {
  type    = string
  default = "debian-12"
}

variable "ssh_keys" {
  description = "Names or ids of Hetzner SSH keys for root."
  type        = list(string)
  default     = []
}

variable "ssh_cidrs" {
  description = "Networks allowed to SSH to the nodes (empty: port 22 closed)."
  type        = list(string)
  default     = []
}

variable "management_cidrs" {
  description = "Networks allowed to reach the admin API (port 8081, HTTPS)."
  type        = list(string)
}

variable "encoder_cidrs" {
  type    = list(string)
  default = ["0.0.0.0/0", "::/0"]
}

variable "pki_dir" {
  description = "Directory with ca.pem and each node's ID.pem and ID-key.pem (ringside ca init / the ca_issue_commands output)."
  type        = string
  default     = "pki"
}

variable "deb_url" {
  description = "Where the nodes download the .deb of make package (your bucket or release page)."
  type        = string
}

variable "deb_sha256" {
  type = string
}

variable "gossip_key" {
  type      = string
  sensitive = true
}

variable "admin_token" {
  type      = string
  sensitive = true
}

variable "events" {
  type = list(object({
    id                      = string
    title                   = optional(string)
    pull_url                = optional(string)
    low_latency_part_target = optional(string)
  }))
  default = []
}

variable "stream_keys" {
  type      = map(string)
  default   = {}
  sensitive = true
}

variable "cdns" {
  type = list(object({
    id            = string
    hostname      = string
    base_url      = optional(string, "")
    weight        = optional(number, 100)
    capacity_mbps = optional(number, 0)
    state         = optional(string, "active")
  }))
  default = []
}
