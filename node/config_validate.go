package node

import (
	"errors"
	"fmt"
	"github.com/ringside-live/ringside/control"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("node: config: "+format, args...)) }
	if c.Node.ID == "" {
		bad("node.id is required")
	}
	if len(c.Node.Roles) == 0 {
		bad("node.roles: at least one role is required")
	}
	for _, r := range c.Node.Roles {
		if !slices.Contains(knownRoles, r) {
			bad("node.roles: unknown role %q (known: %s)", r, strings.Join(knownRoles, ", "))
		}
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
		bad("http.listen %q: %v", c.HTTP.Listen, err)
	}
	for name, d := range map[string]Duration{"read_header_timeout": c.HTTP.ReadHeaderTimeout,
		"ingest_idle_timeout": c.HTTP.IngestIdleTimeout, "stream_timeout": c.HTTP.StreamTimeout, "idle_timeout": c.HTTP.IdleTimeout, "send_timeout": c.HTTP.SendTimeout} {
		if d <= 0 {
			bad("http.%s must be positive", name)
		}
	}
	errs = append(errs, c.validateStores()...)
	errs = append(errs, c.validateIdentity()...)
	errs = append(errs, c.validateEvents()...)
	errs = append(errs, c.validateMesh()...)
	errs = append(errs, c.validateControl()...)
	errs = append(errs, c.validateSteering()...)
	errs = append(errs, c.Telemetry.validate()...)
	if c.HTTP.TLSListen != "" {
		if _, _, err := net.SplitHostPort(c.HTTP.TLSListen); err != nil {
			bad("http.tls_listen %q: %v", c.HTTP.TLSListen, err)
		}
		if len(c.HTTP.TLS) == 0 {
			bad("http.tls_listen needs http.tls: at least one {cert, key}")
		}
	}
	for i, kp := range c.HTTP.TLS {
		if kp.Cert == "" || kp.Key == "" {
			bad("http.tls[%d]: cert and key are required", i)
		}
	}
	if c.Admin.Listen != "" {
		if _, _, err := net.SplitHostPort(c.Admin.Listen); err != nil {
			bad("admin.listen %q: %v", c.Admin.Listen, err)
		} else if !loopback(c.Admin.Listen) && len(c.Admin.TLS) == 0 && !c.Admin.Insecure {
			bad("admin.listen %s is not a loopback address: set admin.tls (the admin token and stream keys must not "+
				"cross the network in clear text), or admin.insecure: true if another layer encrypts it", c.Admin.Listen)
		}
	} else if len(c.Admin.TLS) > 0 {
		bad("admin.tls needs admin.listen (without it the admin API is on http.tls_listen)")
	}
	for i, kp := range c.Admin.TLS {
		if kp.Cert == "" || kp.Key == "" {
			bad("admin.tls[%d]: cert and key are required", i)
		}
	}
	if c.Node.Tier != "" && c.Node.Tier != TierOrigin && c.Node.Tier != TierRegional {
		bad("node.tier %q: want origin or regional", c.Node.Tier)
	}
	if c.Node.Tier == TierRegional && c.Node.Region == "" {
		bad("node.tier regional needs node.region")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format %q: want text or json", c.Log.Format)
	}
	return errors.Join(errs...)
}

// validateStores checks the ingest and cache sections in their YAML keys
// (the packages' own Validate speaks their Go field names).
func (c Config) validateStores() []error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("node: config: "+format, args...)) }
	in, ca := c.Ingest, c.Cache
	for key, v := range map[string]int64{"ingest.max_body_bytes": int64(in.MaxBodyBytes),
		"cache.max_bytes": int64(ca.MaxBytes), "cache.max_object_bytes": int64(ca.MaxObjectBytes),
		"cache.segment_ttl": int64(ca.SegmentTTL), "cache.master_ttl": int64(ca.MasterTTL),
		"cache.negative_ttl": int64(ca.NegativeTTL), "cache.fetch_timeout": int64(ca.FetchTimeout),
		"ingest.orphan_ttl": int64(in.OrphanTTL)} {
		if v <= 0 {
			bad("%s: must be positive", key)
		}
	}
	if in.MaxPlaylistBytes <= 0 || in.MaxPlaylistBytes > in.MaxBodyBytes {
		bad("ingest.max_playlist_bytes: must be positive and at most ingest.max_body_bytes (%d)", in.MaxBodyBytes)
	}
	if in.LiveBytes < in.MaxBodyBytes {
		bad("ingest.live_bytes: must hold at least one upload of ingest.max_body_bytes (%d)", in.MaxBodyBytes)
	}
	if in.RetiredBytes < 0 || in.ListedGrace < 0 || ca.StaleFor < 0 {
		bad("ingest.retired_bytes, ingest.listed_grace and cache.stale_for must not be negative")
	}
	if in.EventBytes != 0 && (in.EventBytes < in.MaxBodyBytes || in.EventBytes > in.LiveBytes) {
		bad("ingest.event_bytes: 0 (guaranteed shares of live_bytes) or between ingest.max_body_bytes and ingest.live_bytes")
	}
	if in.MaxEventFiles < 0 {
		bad("ingest.max_event_files must not be negative")
	}
	if c.Control.ReadyTimeout < 0 {
		bad("control.ready_timeout: must not be negative")
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errs
}

// validateIdentity: the certificate's three files come together, and a
// voter reachable from other hosts is never on plain TCP.
func (c Config) validateIdentity() []error {
	var errs []error
	id := c.Identity
	if id.set() && (id.Cert == "" || id.Key == "" || id.CA == "") {
		errs = append(errs, fmt.Errorf("node: config: identity: cert, key and ca are all required"))
	}
	if c.Mesh.Bind != "" && !id.set() {
		errs = append(errs, fmt.Errorf("node: config: identity: required with mesh.bind: every node-to-node "+
			"connection is mutual TLS between certificates of the cluster CA (ringside ca init; ringside ca issue --node %s)", c.Node.ID))
	}
	if c.hasRole(RoleControl) && !id.set() && c.Control.RaftBind != "" && !loopback(c.Control.RaftBind) {
		errs = append(errs, fmt.Errorf("node: config: identity: required with the control role on a non-loopback "+
			"control.raft_bind (%s): Raft runs on mutual TLS between control certificates (ringside ca issue)", c.Control.RaftBind))
	}
	return errs
}

// loopback reports whether addr's host is a loopback address.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c Config) validateEvents() []error {
	var errs []error
	seen := map[string]bool{}
	for i, ev := range c.Events {
		at := fmt.Sprintf("node: config: events[%d]", i)
		if !idRE.MatchString(ev.ID) {
			errs = append(errs, fmt.Errorf("%s: id %q must match %s", at, ev.ID, idRE))
		}
		if seen[ev.ID] {
			errs = append(errs, fmt.Errorf("%s: duplicate id %q", at, ev.ID))
		}
		seen[ev.ID] = true
		if ev.Feeds != nil {
			if ev.StreamKey != "" || ev.PullURL != "" {
				errs = append(errs, fmt.Errorf("%s (%s): an event with feeds has no stream_key or pull_url of its own", at, ev.ID))
			}
			e := eventsFromConfig([]EventConfig{ev})[0].control()
			doc := &control.Document{Events: map[string]control.Event{ev.ID: e}}
			if err := doc.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s (%s): %w", at, ev.ID, err))
			}
			continue
		}
		switch {
		case ev.StreamKey != "" && ev.PullURL != "":
			errs = append(errs, fmt.Errorf("%s (%s): set stream_key (push) or pull_url (pull), not both", at, ev.ID))
		case ev.StreamKey == "" && ev.PullURL == "":
			errs = append(errs, fmt.Errorf("%s (%s): needs stream_key/stream_key_env (push) or pull_url (pull)", at, ev.ID))
		case ev.StreamKey != "" && len(ev.StreamKey) < 16:
			errs = append(errs, fmt.Errorf("%s (%s): stream_key shorter than 16 characters", at, ev.ID))
		case ev.LowLatency.Enabled && (ev.LowLatency.PartTarget < Duration(100*time.Millisecond) || ev.LowLatency.PartTarget > Duration(5*time.Second)):
			errs = append(errs, fmt.Errorf("%s (%s): low_latency.part_target %v must be between 100ms and 5s", at, ev.ID, time.Duration(ev.LowLatency.PartTarget)))
		case ev.PullURL != "":
			u, err := url.Parse(ev.PullURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				errs = append(errs, fmt.Errorf("%s (%s): pull_url %q is not an http(s) URL", at, ev.ID, ev.PullURL))
			}
		}
	}
	return errs
}

func (c Config) validateMesh() []error {
	var errs []error
	m := c.Mesh
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("node: config: mesh."+format, args...))
	}
	if m.ClusterToken != "" || m.ClusterTokenEnv != "" {
		bad("cluster_token is no longer used: nodes authenticate each other with their certificates " +
			"(identity section, `ringside ca issue`); remove it")
	}
	if m.Bind == "" {
		if len(m.Seeds) > 0 {
			bad("seeds need mesh.bind")
		}
		if m.Listen != "" {
			bad("listen needs mesh.bind")
		}
		return errs
	}
	switch _, err := m.secretKey(); {
	case m.SecretKey == "" && m.SecretKeyEnv != "":
		bad("secret_key: required with mesh.bind: gossip is always encrypted, and mesh.secret_key_env names %s, "+
			"which is empty or unset (generate a key with `head -c 32 /dev/urandom | base64`)", m.SecretKeyEnv)
	case m.SecretKey == "":
		bad("secret_key: required with mesh.bind: gossip is always encrypted (set mesh.secret_key or " +
			"mesh.secret_key_env; generate a key with `head -c 32 /dev/urandom | base64`)")
	case err != nil:
		bad("secret_key: %v", err)
	}
	if _, _, err := net.SplitHostPort(m.Listen); err != nil {
		bad("listen %q: required with mesh.bind: the node-to-node listener (mutual TLS), e.g. 10.0.0.5:7947: %v", m.Listen, err)
	}
	switch m.Profile {
	case "lan", "wan", "test":
	default:
		bad("profile %q: want lan, wan or test", m.Profile)
	}
	if m.PeerTimeout <= 0 || m.FillTimeout <= 0 {
		bad("peer_timeout and fill_timeout must be positive")
	}
	return errs
}

func (c Config) validateControl() []error {
	var errs []error
	cc := c.Control
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("node: config: control."+format, args...))
	}
	if cc.Profile != "" && cc.Profile != "lan" && cc.Profile != "test" {
		bad("profile %q: want lan or test", cc.Profile)
	}
	if !c.hasRole(RoleControl) {
		if cc.RaftBind != "" || len(cc.Bootstrap) > 0 {
			bad("raft_bind and bootstrap need the control role")
		}
		return errs
	}
	if cc.DataDir == "" {
		bad("data_dir is required with the control role")
	}
	if _, _, err := net.SplitHostPort(cc.RaftBind); err != nil {
		bad("raft_bind %q: %v", cc.RaftBind, err)
	}
	for i, p := range cc.Bootstrap {
		if p.ID == "" {
			bad("bootstrap[%d]: id is required", i)
		}
	}
	return errs
}

func (c Config) validateSteering() []error {
	var errs []error
	st := c.Steering
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("node: config: steering."+format, args...))
	}
	if st.DNSListen != "" {
		if !c.hasRole(RoleSteer) {
			bad("dns_listen needs the steer role")
		}
		if _, _, err := net.SplitHostPort(st.DNSListen); err != nil {
			bad("dns_listen %q: %v", st.DNSListen, err)
		}
	}
	if !strings.HasSuffix(st.Zone, ".") || len(st.Zone) < 2 {
		bad("zone %q: want a fully qualified name ending in a dot", st.Zone)
	}
	if st.TTL < Duration(time.Second) || st.DNSTTL < Duration(time.Second) {
		bad("ttl and dns_ttl must be at least 1s")
	}
	if st.DownAfter < 1 || st.UpAfter < 1 {
		bad("down_after and up_after must be at least 1")
	}
	if st.ProbeInterval <= 0 || st.ProbeTimeout <= 0 || st.TokenTTL <= 0 {
		bad("probe_interval, probe_timeout and token_ttl must be positive")
	}
	if st.MeshWeight < 0 || st.MaxRPS < 0 {
		bad("mesh_weight and max_rps must not be negative")
	}
	if !strings.HasPrefix(st.Canary, "/") {
		bad("canary %q: want a path starting with /", st.Canary)
	}
	return errs
}
