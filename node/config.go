package node

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ringside-live/ringside/ingest"
	"github.com/ringside-live/ringside/mesh"
	"github.com/ringside-live/ringside/shield"
)

// Config is a node's configuration file. Every key is documented in the
// README; unknown keys are an error.
type Config struct {
	Node     NodeSection     `yaml:"node"`
	Identity IdentitySection `yaml:"identity"`
	HTTP     HTTPSection     `yaml:"http"`
	Ingest   IngestSection   `yaml:"ingest"`
	Cache    CacheSection    `yaml:"cache"`
	Mesh     MeshSection     `yaml:"mesh"`
	Admin    AdminSection    `yaml:"admin"`
	Control  ControlSection  `yaml:"control"`
	Steering SteeringSection `yaml:"steering"`
	// Telemetry: viewer telemetry (telemetry_config.go).
	Telemetry TelemetrySection `yaml:"telemetry"`
	Events    []EventConfig    `yaml:"events"`
	Log       LogSection       `yaml:"log"`
}

// IdentitySection is this node's certificate from the cluster CA
// (`ringside ca issue`): the node id and roles are in the certificate, and
// a node only takes the roles it grants. With it Raft runs on mutual TLS
// (only control certificates connect). The files are re-read when they
// change (and on SIGHUP); the old ones stay in use if the new ones are bad.
type IdentitySection struct {
	Cert string `yaml:"cert"` // PEM: this node's certificate (then intermediates)
	Key  string `yaml:"key"`  // PEM: its private key
	CA   string `yaml:"ca"`   // PEM: the cluster CA bundle (old and new during a rotation)
}

func (s IdentitySection) set() bool { return s.Cert != "" || s.Key != "" || s.CA != "" }

// MeshSection configures gossip membership. Without bind the node runs
// alone.
type MeshSection struct {
	// Bind is the gossip address (UDP and TCP), e.g. 10.0.0.5:7946.
	Bind      string   `yaml:"bind"`
	Advertise string   `yaml:"advertise"`
	Seeds     []string `yaml:"seeds"`
	// SecretKey (base64 of 16, 24 or 32 bytes) encrypts gossip; a node
	// with another key cannot join. SecretKeyEnv names a variable holding it.
	SecretKey    string `yaml:"secret_key"`
	SecretKeyEnv string `yaml:"secret_key_env"`
	// Listen is the address of the node-to-node listener (mutual TLS 1.3
	// between cluster certificates: peer fetches, push fill, config follow,
	// purge/drain/key fan-out, forwarded admin calls), required with bind,
	// e.g. 10.0.0.5:7947. Only other nodes need to reach it. A host of
	// 0.0.0.0 or :: is advertised with mesh.advertise's host (or bind's).
	Listen string `yaml:"listen"`
	// ClusterToken is gone: nodes authenticate with their certificates
	// (identity). Kept only to refuse old configurations clearly.
	ClusterToken    string `yaml:"cluster_token"`
	ClusterTokenEnv string `yaml:"cluster_token_env"`
	// Profile picks gossip timings: lan (default), wan, or test
	// (milliseconds, for in-process clusters).
	Profile string `yaml:"profile"`
	// PeerTimeout bounds connecting to a peer and waiting for its response
	// headers before the next owner is tried.
	PeerTimeout Duration `yaml:"peer_timeout"`
	// FillTimeout bounds the push of a new segment to its shield owners
	// before its playlist is published anyway.
	FillTimeout Duration `yaml:"fill_timeout"`
}

// AdminSection configures the admin API (/admin/v1/ on the HTTP listener).
type AdminSection struct {
	// Listen, when set, serves the admin API (and /debug/pprof, /metrics,
	// /healthz) on its own address instead of the HTTP listener, e.g. a
	// management network.
	Listen   string `yaml:"listen"`
	Token    string `yaml:"token"`
	TokenEnv string `yaml:"token_env"`
	// ReadOnlyToken may read (GET) but not write (403).
	ReadOnlyToken    string `yaml:"read_only_token"`
	ReadOnlyTokenEnv string `yaml:"read_only_token_env"`
	// TLS serves admin.listen over HTTPS with these certificates (chosen
	// by SNI). A non-loopback admin.listen needs it, and without
	// admin.listen the admin API answers on the plain HTTP listener only
	// when that is on loopback (always on http.tls_listen): bearer tokens
	// and stream keys do not cross a network in clear text unless
	// Insecure says so.
	TLS      []KeyPairConfig `yaml:"tls"`
	Insecure bool            `yaml:"insecure"`
}

// ControlSection configures the control plane: the Raft group of the nodes
// with the control role, and every other node's followed copy.
type ControlSection struct {
	// DataDir holds the Raft log and snapshots (control role) or the last
	// known configuration (every other node), so a node restarts with it
	// even when the control plane is unreachable. Empty: no control plane;
	// the static events are the configuration.
	DataDir string `yaml:"data_dir"`
	// RaftBind is the Raft transport address (control role only).
	RaftBind  string `yaml:"raft_bind"`
	Advertise string `yaml:"advertise"`
	// Bootstrap lists the initial voters (id = node id, addr = raft
	// address), used only on the very first start of a fresh data_dir.
	Bootstrap []PeerConfig `yaml:"bootstrap"`
	// Profile picks Raft timings: lan (default) or test.
	Profile string `yaml:"profile"`
	// ReadyTimeout bounds how long a starting node with static events
	// waits for the control plane to apply its document (seeded, restored
	// or followed) before it serves anyway: nothing answers with an empty
	// configuration while one is on its way. 0: do not wait.
	ReadyTimeout Duration `yaml:"ready_timeout"`
}

// SteeringSection configures the steer role: the authoritative DNS, the
// playback API, redirects and content-steering manifests.
type SteeringSection struct {
	// DNSListen is the authoritative DNS address (UDP and TCP); empty: no
	// DNS on this node.
	DNSListen string   `yaml:"dns_listen"`
	Zone      string   `yaml:"zone"`    // e.g. ringside.test.
	DNSTTL    Duration `yaml:"dns_ttl"` // TTL of DNS answers
	NS        []string `yaml:"ns"`      // the zone's name servers
	// DefaultEvent is the event of live.{zone} (and of every name that is
	// not an event id); empty: the only event when there is one.
	DefaultEvent string `yaml:"default_event"`
	// TTL is the steering TTL: steering manifests are reloaded, and a
	// drained node or CDN loses its sessions, within it.
	TTL        Duration `yaml:"ttl"`
	MeshWeight int      `yaml:"mesh_weight"` // the mesh's weight against CDN weights
	// ManifestTTL is the TTL of HLS and DASH steering manifests (at most
	// ttl): how soon a player already watching hears that a pathway
	// failed. 5 s leaves a hung CDN within 10 s (see steer_manifest_cache.go
	// for what it costs at 1M viewers).
	ManifestTTL Duration `yaml:"manifest_ttl"`
	// Canary is the path probed through every CDN's base URL.
	Canary        string   `yaml:"canary"`
	ProbeInterval Duration `yaml:"probe_interval"`
	ProbeTimeout  Duration `yaml:"probe_timeout"`
	DownAfter     int      `yaml:"down_after"` // consecutive failed probes before a CDN is down
	UpAfter       int      `yaml:"up_after"`   // consecutive good probes before it is up again
	// TokenTTL is the lifetime of playback tokens from /play, capped by
	// the configuration document's signing.max_token_ttl (the time its
	// retired keys are kept for).
	TokenTTL Duration `yaml:"token_ttl"`
	// MaxRPS sheds /steer requests above this rate with 429 (0: no limit).
	MaxRPS int `yaml:"max_rps"`
}

// KeyPairConfig is one HTTPS certificate (PEM, leaf first) and its key;
// both are re-read when they change.
type KeyPairConfig struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// PeerConfig is one initial Raft voter.
type PeerConfig struct {
	ID   string `yaml:"id"`
	Addr string `yaml:"addr"`
}

// NodeSection names the node and its roles.
type NodeSection struct {
	ID     string   `yaml:"id"`
	Roles  []string `yaml:"roles"`
	Region string   `yaml:"region"`
	// Tier of a shield: "origin" (the global origin shield, default) or
	// "regional" (a mid-tier for the edges of its region).
	Tier string `yaml:"tier"`
}

// HTTPSection configures the HTTP listener.
type HTTPSection struct {
	Listen string `yaml:"listen"`
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout Duration `yaml:"read_header_timeout"`
	// IngestIdleTimeout is the longest silence allowed inside an upload
	// body (ffmpeg opens init uploads seconds before their body).
	IngestIdleTimeout Duration `yaml:"ingest_idle_timeout"`
	// StreamTimeout bounds how long a response follows an object that is
	// still arriving.
	StreamTimeout Duration `yaml:"stream_timeout"`
	// IdleTimeout closes keep-alive connections idle this long.
	IdleTimeout Duration `yaml:"idle_timeout"`
	// MaxConns caps concurrent player connections (0: three quarters of
	// the descriptor limit, at most 256k; a value above that is lowered).
	MaxConns int `yaml:"max_conns"`
	// MaxConnsPerIP caps the open connections of one client address (an
	// IPv6 /64 counts as one); more are closed at once. 0: an eighth of
	// max_conns (at least 256); -1: no limit.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
	// SendTimeout closes a connection whose client takes no bytes of a
	// response for this long (a slow client that keeps reading is fine).
	SendTimeout Duration `yaml:"send_timeout"`
	// MaxInflightBytes bounds the memory of large bodies (64 KiB and up)
	// held only by responses in flight: objects the cache evicted, or never
	// took, while clients still read them. Past it such responses get 503
	// with Retry-After. What responses alone hold stays under this plus
	// cache.max_bytes (bodies the cache drops while they are being sent).
	MaxInflightBytes ByteSize `yaml:"max_inflight_bytes"`
	// TLSListen serves the same routes over HTTPS (players, encoders)
	// with the certificates in TLS, chosen by SNI (the first is the
	// default); TLS 1.2+ with forward-secret AEAD suites only. The plain
	// listener stays alongside.
	TLSListen string          `yaml:"tls_listen"`
	TLS       []KeyPairConfig `yaml:"tls"`
	// CORSOrigins are the web origins whose players may read player-facing
	// responses (/live, /s/live, /steer, /play, /r); "*" (the default):
	// any, since no credentials are used.
	CORSOrigins []string `yaml:"cors_origins"`
}

// IngestSection maps to ingest.Config.
type IngestSection struct {
	MaxBodyBytes     ByteSize `yaml:"max_body_bytes"`
	MaxPlaylistBytes ByteSize `yaml:"max_playlist_bytes"`
	LiveBytes        ByteSize `yaml:"live_bytes"`
	RetiredBytes     ByteSize `yaml:"retired_bytes"`
	ListedGrace      Duration `yaml:"listed_grace"`
	OrphanTTL        Duration `yaml:"orphan_ttl"`
	// EventBytes caps what one event holds of live_bytes; 0 (default):
	// each push event is guaranteed live_bytes / (2 x events) and may use
	// what no other event's guarantee needs.
	EventBytes ByteSize `yaml:"event_bytes"`
	// MaxEventFiles caps the files one event holds live (0: 10000).
	MaxEventFiles int `yaml:"max_event_files"`
	// DVR keeps events' DVR windows on disk (off without a dir).
	DVR DVRSection `yaml:"dvr"`
}

// DVRSection is the on-disk DVR store of an ingest node.
type DVRSection struct {
	// Dir holds the store (one directory per event); "" disables DVR.
	Dir string `yaml:"dir"`
	// MaxBytes bounds the store across events (default 10 GiB);
	// EventBytes each event (0: max_bytes).
	MaxBytes   ByteSize `yaml:"max_bytes"`
	EventBytes ByteSize `yaml:"event_bytes"`
}

// CacheSection maps to shield.Config.
type CacheSection struct {
	MaxBytes       ByteSize `yaml:"max_bytes"`
	MaxObjectBytes ByteSize `yaml:"max_object_bytes"`
	SegmentTTL     Duration `yaml:"segment_ttl"`
	MasterTTL      Duration `yaml:"master_ttl"`
	NegativeTTL    Duration `yaml:"negative_ttl"`
	StaleFor       Duration `yaml:"stale_for"`
	FetchTimeout   Duration `yaml:"fetch_timeout"`
	// FileMinBytes: complete bodies this large or larger (segments) are
	// kept in sealed in-memory files and sent to plain HTTP clients with
	// sendfile; 0 keeps every body on the Go heap.
	FileMinBytes ByteSize `yaml:"file_min_bytes"`
}

// EventConfig is one live event. Exactly one of StreamKey (push: an
// encoder PUTs into /ingest/{id}/) and PullURL (pull: /live/{id}/{rest}
// comes from {pull_url}/{rest}) is set.
type EventConfig struct {
	ID        string `yaml:"id"`
	Title     string `yaml:"title"`
	StreamKey string `yaml:"stream_key"`
	// StreamKeyEnv names an environment variable holding the stream key,
	// so keys stay out of config files.
	StreamKeyEnv string `yaml:"stream_key_env"`
	PullURL      string `yaml:"pull_url"`
	// LowLatency makes the ingest node a low-latency packager for a push
	// event: from an LL-DASH/CMAF push it writes LL-HLS playlists (parts,
	// blocking reload, delta updates, preload hints) beside the MPD. For a
	// pull event (an LL-HLS packager as origin) it makes every tier hold
	// and coalesce blocking playlist requests.
	LowLatency LowLatencyConfig `yaml:"low_latency"`
	// DVRWindow keeps the event this far behind live on the ingest
	// node's disk (needs ingest.dvr.dir); 0: live window only.
	DVRWindow Duration `yaml:"dvr_window"`
	// Feeds make the event redundant: a primary and a backup encoder, each
	// with its own stream key (or pull URL), and one output timeline from
	// the active one (stream_key and pull_url are then unset).
	Feeds *FeedsConfig `yaml:"feeds"`
}

// FeedsConfig is a redundant event's feeds and failover policy.
type FeedsConfig struct {
	Primary FeedSourceConfig `yaml:"primary"`
	Backup  FeedSourceConfig `yaml:"backup"`
	// SwitchBack is manual (default: the output stays on the backup) or
	// auto (back to the primary after healthy_segments on-time segments).
	SwitchBack      string `yaml:"switch_back"`
	HealthySegments int    `yaml:"healthy_segments"`
	// UnhealthyAfter is how long the active feed may go without a segment
	// before the output switches (default 1.5 x the target duration).
	UnhealthyAfter Duration `yaml:"unhealthy_after"`
}

// FeedSourceConfig is one feed: pushed with its stream key, or pulled.
type FeedSourceConfig struct {
	StreamKey    string `yaml:"stream_key"`
	StreamKeyEnv string `yaml:"stream_key_env"`
	PullURL      string `yaml:"pull_url"`
}

// LowLatencyConfig is an event's low-latency setting.
type LowLatencyConfig struct {
	Enabled bool `yaml:"enabled"`
	// PartTarget is EXT-X-PART-INF's PART-TARGET, the encoder's fragment
	// duration (ffmpeg -frag_duration); required when enabled, 100ms..5s.
	PartTarget Duration `yaml:"part_target"`
}

// LogSection configures logging.
type LogSection struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
	// Access logs every /live response (path, status, X-Cache, the hops it
	// came through, duration) at info level.
	Access bool `yaml:"access"`
}

// Roles a node can hold: the ones it advertises in the mesh.
const (
	RoleIngest  = mesh.RoleIngest
	RoleShield  = mesh.RoleShield
	RoleEdge    = mesh.RoleEdge
	RoleControl = mesh.RoleControl
	RoleSteer   = mesh.RoleSteer
)

var knownRoles = []string{RoleIngest, RoleShield, RoleEdge, RoleControl, RoleSteer}

// DefaultConfig is the embedded single-node default: every role on
// 127.0.0.1:8080.
func DefaultConfig() Config {
	ic, sc := ingest.DefaultConfig(), shield.DefaultConfig()
	host, _ := os.Hostname()
	return Config{
		Node: NodeSection{ID: host, Roles: []string{RoleIngest, RoleShield, RoleEdge}},
		HTTP: HTTPSection{Listen: "127.0.0.1:8080", ReadHeaderTimeout: Duration(10 * time.Second),
			IngestIdleTimeout: Duration(10 * time.Second), StreamTimeout: Duration(30 * time.Second),
			IdleTimeout: Duration(90 * time.Second), SendTimeout: Duration(30 * time.Second),
			MaxInflightBytes: 64 << 20},
		Ingest: IngestSection{MaxBodyBytes: ByteSize(ic.MaxBodyBytes), MaxPlaylistBytes: ByteSize(ic.MaxPlaylistBytes),
			LiveBytes: ByteSize(ic.LiveBytes), RetiredBytes: ByteSize(ic.RetiredBytes),
			ListedGrace: Duration(ic.ListedGrace), OrphanTTL: Duration(ic.OrphanTTL),
			DVR: DVRSection{MaxBytes: 10 << 30}},
		Cache: CacheSection{MaxBytes: ByteSize(sc.MaxBytes), MaxObjectBytes: ByteSize(sc.MaxObjectBytes),
			SegmentTTL: Duration(sc.SegmentTTL), MasterTTL: Duration(sc.MasterTTL), NegativeTTL: Duration(sc.NegativeTTL),
			StaleFor: Duration(sc.StaleFor), FetchTimeout: Duration(sc.FetchTimeout), FileMinBytes: ByteSize(sc.FileMinBytes)},
		Mesh: MeshSection{Profile: "lan", PeerTimeout: Duration(2 * time.Second), FillTimeout: Duration(time.Second)},
		Steering: SteeringSection{Zone: "ringside.test.", DNSTTL: Duration(20 * time.Second), TTL: Duration(time.Minute),
			MeshWeight: 100, ManifestTTL: Duration(5 * time.Second), Canary: "/healthz", ProbeInterval: Duration(time.Second), ProbeTimeout: Duration(time.Second),
			DownAfter: 3, UpAfter: 2, TokenTTL: Duration(6 * time.Hour), MaxRPS: 20000},
		Control:   ControlSection{ReadyTimeout: Duration(5 * time.Second)},
		Telemetry: defaultTelemetrySection(),
		Log:       LogSection{Level: "info", Format: "text"},
	}
}

// LoadConfig reads a YAML file over DefaultConfig. Unknown keys are errors.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("node: config: %w", err)
	}
	return ParseConfig(data)
}

// ParseConfig parses YAML over DefaultConfig and validates the result.
func ParseConfig(data []byte) (Config, error) {
	cfg := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("node: config: %w", err)
	}
	for i := range cfg.Events {
		ev := &cfg.Events[i]
		fromEnv(&ev.StreamKey, ev.StreamKeyEnv)
		if ev.Feeds != nil {
			fromEnv(&ev.Feeds.Primary.StreamKey, ev.Feeds.Primary.StreamKeyEnv)
			fromEnv(&ev.Feeds.Backup.StreamKey, ev.Feeds.Backup.StreamKeyEnv)
		}
	}
	fromEnv(&cfg.Mesh.SecretKey, cfg.Mesh.SecretKeyEnv)
	fromEnv(&cfg.Admin.Token, cfg.Admin.TokenEnv)
	fromEnv(&cfg.Admin.ReadOnlyToken, cfg.Admin.ReadOnlyTokenEnv)
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func fromEnv(dst *string, name string) {
	if name != "" && *dst == "" {
		*dst = os.Getenv(name)
	}
}

var idRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Shield tiers.
const (
	TierOrigin   = "origin"
	TierRegional = "regional"
)

func (m MeshSection) secretKey() ([]byte, error) {
	if m.SecretKey == "" {
		return nil, nil
	}
	k, err := base64.StdEncoding.DecodeString(m.SecretKey)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if n := len(k); n != 16 && n != 24 && n != 32 {
		return nil, fmt.Errorf("decodes to %d bytes, want 16, 24 or 32", n)
	}
	return k, nil
}

func (c Config) hasRole(r string) bool { return slices.Contains(c.Node.Roles, r) }

func (c Config) ingestConfig() ingest.Config {
	return ingest.Config{MaxBodyBytes: int64(c.Ingest.MaxBodyBytes), MaxPlaylistBytes: int64(c.Ingest.MaxPlaylistBytes),
		LiveBytes: int64(c.Ingest.LiveBytes), RetiredBytes: int64(c.Ingest.RetiredBytes),
		ListedGrace: time.Duration(c.Ingest.ListedGrace), OrphanTTL: time.Duration(c.Ingest.OrphanTTL),
		EventBytes: int64(c.Ingest.EventBytes), MaxEventFiles: c.Ingest.MaxEventFiles}
}

func (c Config) shieldConfig() shield.Config {
	sc := shield.DefaultConfig()
	sc.MaxBytes, sc.MaxObjectBytes = int64(c.Cache.MaxBytes), int64(c.Cache.MaxObjectBytes)
	sc.SegmentTTL, sc.MasterTTL = time.Duration(c.Cache.SegmentTTL), time.Duration(c.Cache.MasterTTL)
	sc.NegativeTTL, sc.StaleFor = time.Duration(c.Cache.NegativeTTL), time.Duration(c.Cache.StaleFor)
	sc.FetchTimeout = time.Duration(c.Cache.FetchTimeout)
	sc.FileMinBytes = int64(c.Cache.FileMinBytes)
	return sc
}

// Duration is a time.Duration written as "10s", "500ms".
type Duration time.Duration

// UnmarshalYAML implements yaml.Unmarshaler.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration like 10s or 500ms", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// ByteSize is a size written as 1048576, "64KiB", "512MiB", "1GiB" (or KB, MB, GB as powers of 1000).
type ByteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}

// UnmarshalYAML implements yaml.Unmarshaler.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return fmt.Errorf("line %d: %q is not a size like 1048576, 64KiB or 1GiB", n.Line, n.Value)
	}
	*b = ByteSize(v * mult)
	return nil
}

// MarshalYAML implements yaml.Marshaler.
func (b ByteSize) MarshalYAML() (any, error) { return int64(b), nil }
