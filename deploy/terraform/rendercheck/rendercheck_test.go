package rendercheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"go/build"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ringside-live/ringside/control"
	"github.com/ringside-live/ringside/node"
	"github.com/ringside-live/ringside/pkg/strictjson"
)

var update = flag.Bool("update", false, "rewrite the golden files from a fresh terraform apply of the fixture")

const (
	moduleDir  = "../modules/ringside-mesh"
	fixtureDir = moduleDir + "/tests/fixture"
	goldenDir  = moduleDir + "/tests/golden"
)

// jsonOutputs are the outputs kept as golden JSON files.
var jsonOutputs = []string{"firewall_rules", "dns_delegation", "control_requests", "ca_issue_commands"}

// terraformBin is $TERRAFORM, else tofu or terraform from the PATH or
// from GOPATH/bin (deploy/terraform/install-tofu), else "".
func terraformBin() string {
	if b := os.Getenv("TERRAFORM"); b != "" {
		return b
	}
	for _, name := range []string{"tofu", "terraform", filepath.Join(build.Default.GOPATH, "bin", "tofu")} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// render applies the fixture (no provider: terraform_data only) with its
// working data and state in a temporary directory, and returns the golden
// files it makes, by path under goldenDir.
func render(t *testing.T, bin string) map[string][]byte {
	t.Helper()
	tmp := t.TempDir()
	run := func(args ...string) []byte {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"-chdir=" + fixtureDir}, args...)...)
		cmd.Env = append(os.Environ(), "TF_DATA_DIR="+filepath.Join(tmp, "data"), "TF_IN_AUTOMATION=1", "TF_INPUT=0",
			"CHECKPOINT_DISABLE=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s%s", filepath.Base(bin), strings.Join(args, " "), err, out, stderr.String())
		}
		return out
	}
	state := "-state=" + filepath.Join(tmp, "terraform.tfstate")
	run("init", "-input=false", "-backend=false")
	run("apply", "-auto-approve", "-input=false", "-no-color", state)
	var outputs map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(run("output", "-json", state), &outputs); err != nil {
		t.Fatalf("terraform output -json: %v", err)
	}
	files := map[string][]byte{}
	for _, name := range []string{"node_configs", "cloud_init"} {
		var docs map[string]string
		if err := json.Unmarshal(outputs[name].Value, &docs); err != nil {
			t.Fatalf("output %s: %v", name, err)
		}
		dir := map[string]string{"node_configs": "configs", "cloud_init": "cloud-init"}[name]
		for id, doc := range docs {
			files[dir+"/"+id+".yaml"] = []byte(doc)
		}
	}
	for _, name := range jsonOutputs {
		var v any
		if err := json.Unmarshal(outputs[name].Value, &v); err != nil {
			t.Fatalf("output %s: %v", name, err)
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		files[name+".json"] = append(b, '\n')
	}
	return files
}

// goldenFiles reads every file under goldenDir, by relative path.
func goldenFiles(t *testing.T) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(goldenDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(goldenDir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// TestGoldenMatchesModule: with terraform on the PATH, the golden files
// are what the module renders now (-update rewrites them).
func TestGoldenMatchesModule(t *testing.T) {
	bin := terraformBin()
	if bin == "" {
		if *update {
			t.Fatal("-update needs terraform or tofu on the PATH")
		}
		t.Skip("no terraform or tofu on the PATH: the golden files are checked by TestRenderedConfigsLoad alone")
	}
	fresh := render(t, bin)
	if *update {
		if err := os.RemoveAll(goldenDir); err != nil {
			t.Fatal(err)
		}
		for rel, b := range fresh {
			p := filepath.Join(goldenDir, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	golden := goldenFiles(t)
	for _, rel := range union(fresh, golden) {
		switch f, g := fresh[rel], golden[rel]; {
		case g == nil:
			t.Errorf("%s: rendered but not in %s (go test ./deploy/terraform/rendercheck -update)", rel, goldenDir)
		case f == nil:
			t.Errorf("%s: in %s but no longer rendered (go test ./deploy/terraform/rendercheck -update)", rel, goldenDir)
		case !bytes.Equal(f, g):
			t.Errorf("%s: the module renders something else than the golden file (go test ./deploy/terraform/rendercheck -update, then read the diff)", rel)
		}
	}
}

func union(a, b map[string][]byte) []string {
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// cloudConfig is the part of a #cloud-config document the module writes.
type cloudConfig struct {
	WriteFiles []struct {
		Path        string `yaml:"path"`
		Owner       string `yaml:"owner"`
		Permissions string `yaml:"permissions"`
		Content     string `yaml:"content"`
	} `yaml:"write_files"`
	Runcmd [][]string `yaml:"runcmd"`
}

// firewallRule is one element of the firewall_rules output.
type firewallRule struct {
	Name        string   `json:"name"`
	Direction   string   `json:"direction"`
	Protocol    string   `json:"protocol"`
	Port        int      `json:"port"`
	SourceCIDRs []string `json:"source_cidrs"`
	NodeIDs     []string `json:"node_ids"`
	Description string   `json:"description"`
}

// TestRenderedConfigsLoad: every golden node config is accepted by the
// node's own loader, with the secrets of its cloud-init env file, and its
// cloud-init document writes exactly that config.
func TestRenderedConfigsLoad(t *testing.T) {
	golden := goldenFiles(t)
	var rules []firewallRule
	decodeJSON(t, golden, "firewall_rules.json", &rules)
	var ids []string
	for rel := range golden {
		if id, ok := strings.CutPrefix(rel, "configs/"); ok {
			ids = append(ids, strings.TrimSuffix(id, ".yaml"))
		}
	}
	sort.Strings(ids)
	if len(ids) == 0 {
		t.Fatalf("no node configs under %s/configs", goldenDir)
	}
	configs := map[string]node.Config{}
	for _, id := range ids {
		t.Run(id, func(t *testing.T) {
			yml := golden["configs/"+id+".yaml"]
			ci, ok := golden["cloud-init/"+id+".yaml"]
			if !ok {
				t.Fatalf("no cloud-init/%s.yaml", id)
			}
			if !bytes.HasPrefix(ci, []byte("#cloud-config\n")) {
				t.Errorf("cloud-init does not start with #cloud-config")
			}
			var cc cloudConfig
			if err := yaml.Unmarshal(ci, &cc); err != nil {
				t.Fatalf("cloud-init: %v", err)
			}
			files := map[string]string{}
			for _, f := range cc.WriteFiles {
				files[f.Path] = f.Content
				if f.Path == "/etc/ringside/ringside.env" && f.Permissions != "0600" {
					t.Errorf("the env file (secrets) is written %s, want 0600", f.Permissions)
				}
			}
			if files["/etc/ringside/ringside.yaml"] != string(yml) {
				t.Errorf("cloud-init writes another /etc/ringside/ringside.yaml than configs/%s.yaml", id)
			}
			if unit, ok := files["/etc/systemd/system/ringside.service"]; ok {
				want, err := os.ReadFile("../../systemd/ringside.service")
				if err != nil || unit != string(want) {
					t.Errorf("cloud-init writes a unit other than deploy/systemd/ringside.service (%v)", err)
				}
			}
			env, ok := files["/etc/ringside/ringside.env"]
			if !ok {
				t.Fatal("cloud-init writes no /etc/ringside/ringside.env")
			}
			for k, v := range parseEnv(t, env) {
				t.Setenv(k, v)
			}
			cfg, err := node.ParseConfig(yml)
			if err != nil {
				t.Fatalf("node.ParseConfig refuses the rendered config:\n%v", err)
			}
			if cfg.Node.ID != id {
				t.Errorf("node.id %q, want %q", cfg.Node.ID, id)
			}
			if cfg.Admin.Token == "" {
				t.Errorf("admin.token_env %s is not set by the env file", cfg.Admin.TokenEnv)
			}
			if cfg.Mesh.Bind == "" || cfg.Identity.Cert == "" || cfg.Control.DataDir == "" {
				t.Errorf("a mesh node needs mesh.bind, identity and control.data_dir")
			}
			checkFirewall(t, cfg, rules)
			configs[id] = cfg
		})
	}
	t.Run("dns_delegation", func(t *testing.T) { checkDelegation(t, golden, configs) })
	t.Run("raft_bootstrap", func(t *testing.T) {
		var voters []string
		for id, c := range configs {
			if slices.Contains(c.Node.Roles, node.RoleControl) {
				voters = append(voters, id)
			}
		}
		for _, id := range voters {
			if got := len(configs[id].Control.Bootstrap); got != len(voters) {
				t.Errorf("%s: control.bootstrap lists %d voters, the mesh has %d", id, got, len(voters))
			}
		}
	})
}

// checkFirewall: every listener a node's config opens is let in by a rule
// for that node (the HTTP listeners only on nodes that serve players or
// encoders).
func checkFirewall(t *testing.T, cfg node.Config, rules []firewallRule) {
	t.Helper()
	type need struct {
		key, addr, proto string
	}
	needs := []need{{"mesh.bind", cfg.Mesh.Bind, "tcp"}, {"mesh.bind", cfg.Mesh.Bind, "udp"},
		{"mesh.listen", cfg.Mesh.Listen, "tcp"}, {"admin.listen", cfg.Admin.Listen, "tcp"},
		{"control.raft_bind", cfg.Control.RaftBind, "tcp"},
		{"steering.dns_listen", cfg.Steering.DNSListen, "udp"}, {"steering.dns_listen", cfg.Steering.DNSListen, "tcp"}}
	if slices.ContainsFunc(cfg.Node.Roles, func(r string) bool { return r == "edge" || r == "steer" || r == "ingest" }) {
		needs = append(needs, need{"http.listen", cfg.HTTP.Listen, "tcp"}, need{"http.tls_listen", cfg.HTTP.TLSListen, "tcp"})
	}
	for _, n := range needs {
		if n.addr == "" {
			continue
		}
		_, port, err := net.SplitHostPort(n.addr)
		if err != nil {
			t.Errorf("%s %q: %v", n.key, n.addr, err)
			continue
		}
		found := slices.ContainsFunc(rules, func(r firewallRule) bool {
			return r.Direction == "in" && r.Protocol == n.proto && fmt.Sprint(r.Port) == port && slices.Contains(r.NodeIDs, cfg.Node.ID)
		})
		if !found {
			t.Errorf("%s %s/%s: no firewall rule lets it in on %s", n.key, port, n.proto, cfg.Node.ID)
		}
	}
}

// checkDelegation: the parent's NS records name the steer nodes'
// steering.ns, and each glue record is the address its DNS listens on.
func checkDelegation(t *testing.T, golden map[string][]byte, configs map[string]node.Config) {
	var d struct {
		Zone        string `json:"zone"`
		NameServers []struct {
			Name   string `json:"name"`
			NodeID string `json:"node_id"`
			IPv4   string `json:"ipv4"`
		} `json:"name_servers"`
		ParentRecords []struct {
			Name   string   `json:"name"`
			Type   string   `json:"type"`
			TTL    int      `json:"ttl"`
			Values []string `json:"values"`
		} `json:"parent_records"`
	}
	decodeJSON(t, golden, "dns_delegation.json", &d)
	glue := map[string][]string{}
	var ns []string
	for _, r := range d.ParentRecords {
		switch r.Type {
		case "NS":
			if r.Name != d.Zone {
				t.Errorf("NS record for %s, want the zone %s", r.Name, d.Zone)
			}
			ns = r.Values
		case "A":
			glue[r.Name] = r.Values
		default:
			t.Errorf("unexpected %s record at the parent", r.Type)
		}
	}
	if len(d.NameServers) == 0 {
		t.Fatal("no name servers")
	}
	for _, s := range d.NameServers {
		cfg, ok := configs[s.NodeID]
		if !ok {
			t.Errorf("name server %s: no node %s", s.Name, s.NodeID)
			continue
		}
		if cfg.Steering.Zone != d.Zone || !slices.Equal(cfg.Steering.NS, ns) {
			t.Errorf("%s: steering.zone %s ns %v, the parent delegates %s to %v", s.NodeID, cfg.Steering.Zone, cfg.Steering.NS, d.Zone, ns)
		}
		host, _, err := net.SplitHostPort(cfg.Steering.DNSListen)
		if err != nil || !slices.Equal(glue[s.Name], []string{host}) {
			t.Errorf("%s: glue %v, but %s's DNS listens on %q", s.Name, glue[s.Name], s.NodeID, cfg.Steering.DNSListen)
		}
	}
}

// TestControlRequestsDecode: the admin API bodies the module renders are
// what the admin API decodes (strictly: an unknown key is refused).
func TestControlRequestsDecode(t *testing.T) {
	var reqs []struct {
		Method string `json:"method"`
		Path   string `json:"path"`
		Body   string `json:"body"`
	}
	decodeJSON(t, goldenFiles(t), "control_requests.json", &reqs)
	if len(reqs) == 0 {
		t.Fatal("no control requests")
	}
	for _, r := range reqs {
		if r.Method != "PUT" {
			t.Errorf("%s %s: want PUT", r.Method, r.Path)
		}
		switch {
		case strings.HasPrefix(r.Path, "/admin/v1/regions/"):
			var reg control.Region
			if err := strictjson.Decode([]byte(r.Body), &reg); err != nil {
				t.Errorf("%s: %v", r.Path, err)
			} else if reg.Name != strings.TrimPrefix(r.Path, "/admin/v1/regions/") || len(reg.CIDRs) == 0 {
				t.Errorf("%s: body names region %q with %d CIDRs", r.Path, reg.Name, len(reg.CIDRs))
			}
		case strings.HasPrefix(r.Path, "/admin/v1/cdns/"):
			var cdn control.CDN
			if err := strictjson.Decode([]byte(r.Body), &cdn); err != nil {
				t.Errorf("%s: %v", r.Path, err)
			} else if cdn.ID != strings.TrimPrefix(r.Path, "/admin/v1/cdns/") || cdn.Hostname == "" {
				t.Errorf("%s: body names CDN %q, hostname %q", r.Path, cdn.ID, cdn.Hostname)
			}
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.Path)
		}
	}
}

// TestPackageDefaultConfigLoads: the .deb's /etc/ringside/ringside.yaml
// starts a node as it is.
func TestPackageDefaultConfigLoads(t *testing.T) {
	b, err := os.ReadFile("../../package/ringside.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := node.ParseConfig(b); err != nil {
		t.Fatalf("the package's default config: %v", err)
	}
}

func decodeJSON(t *testing.T, golden map[string][]byte, name string, v any) {
	t.Helper()
	b, ok := golden[name]
	if !ok {
		t.Fatalf("no %s under %s", name, goldenDir)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// parseEnv reads a systemd EnvironmentFile of KEY=VALUE lines.
func parseEnv(t *testing.T, s string) map[string]string {
	t.Helper()
	env := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("env file line %q is not KEY=VALUE", line)
		}
		env[k] = v
	}
	return env
}
