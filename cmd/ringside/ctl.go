package main

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ringside-live/ringside/admin"
)

// Exit codes of `ringside ctl`, for scripts.
const (
	exitOK          = 0
	exitServerError = 1 // the server answered an error (its message is on stderr)
	exitUsage       = 2 // the command line is wrong
	exitUnreachable = 3 // the server could not be reached
)

const ctlUsage = `usage: ringside ctl [--addr URL] [--token TOKEN] [--ca FILE] [--operator NAME]
                   [-o table|json] [--local] COMMAND
  status
  events list | get ID | create (-f FILE | --id ID [--title T] (--pull-url URL | --stream-key K))
         update ID -f FILE | set-state ID STATE
         feeds ID | feed ID primary|backup [--reason TEXT]
         (a redundant event's feeds; feed switches its output)
         clips ID | clip ID --name N --from RFC3339 --to RFC3339
  cdns   list | set-weight ID N | drain ID | undrain ID
  nodes  list | drain ID | undrain ID
  purge  --key KEY | --prefix PREFIX | --event ID
  mesh   keys list | keys install|use|remove --key-file FILE
         (gossip key rotation on every node: install the new key, use it,
         remove the old one; KEY as an argument also works, but shows in ps)
Flags may stand anywhere. The address and token default to $RINGSIDE_ADDR and
$RINGSIDE_TOKEN. An https:// address is verified against --ca FILE
($RINGSIDE_CA: the PEM bundle of the cluster CA, as ringside ca init wrote
it), else the system roots. --operator ($RINGSIDE_OPERATOR, else $USER, else
"operator"; 1-64 of A-Z a-z 0-9 . _ @ -) names you in the configuration's
history, with the node you called: alice@edge-1.
Reads are answered by the control leader (consistent); --local reads the
node's own copy. Each write carries one Idempotency-Key, reused when the
node asks to retry (503 with Retry-After).
Exit codes: 0 ok, 1 the server refused (message on stderr), 2 usage, 3 unreachable.
`

type ctl struct {
	ctlGlobals
	out, errw io.Writer
	client    *http.Client
	// idemKey names this invocation's write; a retried attempt reuses it.
	idemKey string
	// sleep waits before a retry; tests replace it.
	sleep func(time.Duration)
}

// ctlAttempts bounds the tries of one request answered 503 with
// Retry-After; ctlMaxRetryWait bounds each wait.
const (
	ctlAttempts     = 3
	ctlMaxRetryWait = 5 * time.Second
)

// ctlError carries the exit code with the message.
type ctlError struct {
	code int
	msg  string
}

func (e *ctlError) Error() string { return e.msg }

func usageErr(format string, args ...any) error {
	return &ctlError{exitUsage, fmt.Sprintf(format, args...)}
}

func runCtl(args []string, stdout, stderr io.Writer) int {
	c := &ctl{out: stdout, errw: stderr, client: &http.Client{Timeout: 30 * time.Second}, sleep: time.Sleep}
	c.addr, c.token, c.output = os.Getenv("RINGSIDE_ADDR"), os.Getenv("RINGSIDE_TOKEN"), "table"
	c.ca, c.operator = os.Getenv("RINGSIDE_CA"), os.Getenv("RINGSIDE_OPERATOR")
	if c.operator == "" {
		c.operator = defaultOperator(os.Getenv("USER"))
	}
	return c.run(args)
}

// defaultOperator is the login name when it may name an operator, else
// "operator" (what the API records without a name).
func defaultOperator(user string) string {
	if admin.ValidOperator(user) {
		return user
	}
	return "operator"
}

// useCA makes the client verify https addresses against the PEM
// certificates in file instead of the system roots.
func (c *ctl) useCA(file string) error {
	b, err := os.ReadFile(file)
	if err != nil {
		return usageErr("--ca: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return usageErr("--ca %s: no PEM certificate in it", file)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	cl := *c.client
	cl.Transport = tr
	c.client = &cl
	return nil
}

// newIdempotencyKey names one invocation's write.
func newIdempotencyKey() string {
	b := make([]byte, 16)
	rand.Read(b) // never fails (crypto/rand)
	return "ctl-" + hex.EncodeToString(b)
}

// run executes one command line and returns the exit code.
func (c *ctl) run(args []string) int {
	rest, err := splitArgs(args, &c.ctlGlobals)
	if err != nil || len(rest) == 0 {
		if err != nil && err != errCtlHelp {
			fmt.Fprintln(c.errw, "ringside ctl:", err)
		}
		fmt.Fprint(c.errw, ctlUsage)
		return exitUsage
	}
	if c.addr == "" {
		fmt.Fprintln(c.errw, "ringside ctl: no address: use --addr or RINGSIDE_ADDR")
		return exitUsage
	}
	if !strings.Contains(c.addr, "://") {
		c.addr = "http://" + c.addr
	}
	c.addr = strings.TrimRight(c.addr, "/")
	if c.output != "table" && c.output != "json" {
		fmt.Fprintln(c.errw, "ringside ctl: -o must be table or json")
		return exitUsage
	}
	if c.operator != "" && !admin.ValidOperator(c.operator) {
		fmt.Fprintf(c.errw, "ringside ctl: --operator %q: want 1-64 characters of A-Z a-z 0-9 . _ @ -\n", c.operator)
		return exitUsage
	}
	if c.ca != "" {
		if err := c.useCA(c.ca); err != nil {
			fmt.Fprintln(c.errw, "ringside ctl:", err)
			return exitUsage
		}
	}
	if c.idemKey == "" {
		c.idemKey = newIdempotencyKey()
	}
	err = c.dispatch(rest)
	var ce *ctlError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ce):
		fmt.Fprintln(c.errw, "ringside ctl:", ce.msg)
		if ce.code == exitUsage {
			fmt.Fprint(c.errw, ctlUsage)
		}
		return ce.code
	default:
		fmt.Fprintln(c.errw, "ringside ctl:", err)
		return exitServerError
	}
}

func (c *ctl) dispatch(args []string) error {
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "status":
		return c.status()
	case "events":
		return c.events(rest)
	case "cdns":
		return c.cdns(rest)
	case "nodes":
		return c.nodes(rest)
	case "purge":
		return c.purge(rest)
	case "mesh":
		return c.mesh(rest)
	}
	return usageErr("unknown command %q", cmd)
}

// read GETs path (under /admin/v1/) into out: from the control leader
// unless --local, from the node's own copy with it.
func (c *ctl) read(path string, out any) error {
	if !c.local {
		path += "?consistent=true"
	}
	return c.do("GET", path, nil, out)
}

// do sends one request and decodes the JSON answer into out (may be nil).
// A write carries the invocation's Idempotency-Key; an answer 503 with
// Retry-After is retried (with the same key) a few times. Server errors
// come back as *ctlError with the problem's detail.
func (c *ctl) do(method, path string, body any, out any) error {
	var payload []byte
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = b
	}
	for attempt := 1; ; attempt++ {
		status, hdr, raw, err := c.send(method, path, payload)
		if err != nil {
			return err
		}
		wait, retry := retryAfter(status, hdr)
		if retry && attempt < ctlAttempts {
			c.sleep(wait)
			continue
		}
		if status >= 400 {
			return &ctlError{exitServerError, problemText(status, raw)}
		}
		if out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				return fmt.Errorf("bad answer from the server: %w", err)
			}
		}
		return nil
	}
}

// send makes one attempt.
func (c *ctl) send(method, path string, payload []byte) (int, http.Header, []byte, error) {
	var rd io.Reader
	if payload != nil {
		rd = bytes.NewReader(payload)
	}
	req, err := http.NewRequest(method, c.addr+"/admin/v1/"+path, rd)
	if err != nil {
		return 0, nil, nil, usageErr("bad address %q: %v", c.addr, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if c.operator != "" {
		req.Header.Set(admin.HeaderOperator, c.operator)
	}
	if payload != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != http.MethodGet {
		req.Header.Set("Idempotency-Key", c.idemKey)
	}
	resp, err := c.client.Do(req)
	var unknownCA x509.UnknownAuthorityError
	switch {
	case errors.As(err, &unknownCA):
		return 0, nil, nil, &ctlError{exitUnreachable, err.Error() + " (give the cluster CA with --ca FILE or RINGSIDE_CA)"}
	case err != nil:
		return 0, nil, nil, &ctlError{exitUnreachable, err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, &ctlError{exitUnreachable, err.Error()}
	}
	return resp.StatusCode, resp.Header, raw, nil
}

// retryAfter reports whether an answer asks to be retried, and after how
// long: 503 with Retry-After in seconds.
func retryAfter(status int, hdr http.Header) (time.Duration, bool) {
	if status != http.StatusServiceUnavailable {
		return 0, false
	}
	secs, err := strconv.Atoi(hdr.Get("Retry-After"))
	if err != nil || secs < 0 {
		return 0, false
	}
	return min(time.Duration(secs)*time.Second, ctlMaxRetryWait), true
}

// problemText renders an RFC 9457 answer for a person.
func problemText(status int, raw []byte) string {
	var p admin.Problem
	if json.Unmarshal(raw, &p) != nil || p.Detail == "" {
		return fmt.Sprintf("%d %s: %s", status, http.StatusText(status), strings.TrimSpace(string(raw)))
	}
	p.Status, p.Title = status, http.StatusText(status)
	return p.Error()
}

// emit prints v as JSON, or calls table for people.
func (c *ctl) emit(v any, table func(w *tabwriter.Writer)) error {
	if c.output == "json" {
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	w := tabwriter.NewWriter(c.out, 2, 4, 2, ' ', 0)
	table(w)
	return w.Flush()
}

func (c *ctl) status() error {
	var a admin.NodesResponse
	if err := c.do("GET", "nodes", nil, &a); err != nil {
		return err
	}
	return c.emit(a, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "node %s, config version %d, control leader %s, %d members\n", a.Self, a.ConfigVersion, orDash(a.ControlLeader), len(a.Nodes))
		if d := a.ControlDivergence; d != nil {
			fmt.Fprintf(w, "WARNING: this voter's Raft log diverges from leader %s's at index %d (found %s)\n",
				orDash(d.Leader), d.Index, d.At.Format(time.RFC3339))
		}
		fmt.Fprintln(w)
		nodeTable(w, a.Nodes)
	})
}

func nodeTable(w *tabwriter.Writer, rows []admin.NodeView) {
	fmt.Fprintln(w, "ID\tROLES\tTIER\tREGION\tHTTP\tSTATE\tLOAD\tDRAIN\tINGESTS\tIDENTITY")
	for _, n := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%v\t%s\t%s\n", n.ID, strings.Join(n.Roles, ","), orDash(n.Tier),
			orDash(n.Region), n.HTTP, n.State, n.Load, n.Drain, orDash(strings.Join(n.Events, ",")), orDash(n.Identity))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func (c *ctl) nodes(args []string) error {
	switch {
	case len(args) == 1 && args[0] == "list":
		var a admin.NodesResponse
		if err := c.do("GET", "nodes", nil, &a); err != nil {
			return err
		}
		sort.Slice(a.Nodes, func(i, j int) bool { return a.Nodes[i].ID < a.Nodes[j].ID })
		return c.emit(a.Nodes, func(w *tabwriter.Writer) { nodeTable(w, a.Nodes) })
	case len(args) == 2 && (args[0] == "drain" || args[0] == "undrain"):
		return c.write("POST", "nodes/"+args[1]+"/"+args[0], nil, fmt.Sprintf("node %s: %sed", args[1], args[0]))
	}
	return usageErr("nodes list | drain ID | undrain ID")
}

// write performs a change and prints the new config version.
func (c *ctl) write(method, path string, body any, done string) error {
	var res admin.WriteResponse
	if err := c.do(method, path, body, &res); err != nil {
		return err
	}
	return c.emit(res, func(w *tabwriter.Writer) {
		switch {
		case res.Duplicate:
			fmt.Fprintf(w, "%s (already applied as config version %d)\n", done, res.Version)
		case res.Version > 0:
			fmt.Fprintf(w, "%s (config version %d)\n", done, res.Version)
		default:
			fmt.Fprintln(w, done)
		}
	})
}

func (c *ctl) purge(args []string) error {
	fs := flag.NewFlagSet("purge", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	key := fs.String("key", "", "")
	prefix := fs.String("prefix", "", "")
	event := fs.String("event", "", "")
	if err := fs.Parse(args); err != nil {
		return usageErr("purge --key KEY | --prefix PREFIX | --event ID")
	}
	var res admin.PurgeResponse
	if err := c.do("POST", "purge", admin.PurgeRequest{Key: *key, Prefix: *prefix, Event: *event}, &res); err != nil {
		return err
	}
	return c.emit(res, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "purged %d objects under %s on %d nodes\n", res.Purged, res.Target, len(res.Nodes))
		ids := make([]string, 0, len(res.Nodes))
		for id := range res.Nodes {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			if e := res.Nodes[id].Error; e != "" {
				fmt.Fprintf(w, "  %s failed: %s\n", id, e)
			}
		}
	})
}
