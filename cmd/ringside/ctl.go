package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// Exit codes of `ringside ctl`, for scripts.
const (
	exitOK          = 0
	exitServerError = 1 // the server answered an error (its message is on stderr)
	exitUsage       = 2 // the command line is wrong
	exitUnreachable = 3 // the server could not be reached
)

const ctlUsage = `usage: ringside ctl [--addr URL] [--token TOKEN] [-o table|json] COMMAND
  status
  events list | get ID | create (-f FILE | --id ID [--title T] (--pull-url URL | --stream-key K))
         update ID -f FILE | set-state ID STATE
  cdns   list | set-weight ID N | drain ID | undrain ID
  nodes  list | drain ID | undrain ID
  purge  --key KEY | --prefix PREFIX | --event ID
The address and token default to $RINGSIDE_ADDR and $RINGSIDE_TOKEN.
Exit codes: 0 ok, 1 the server refused (message on stderr), 2 usage, 3 unreachable.
`

type ctl struct {
	addr, token, output string
	out, errw           io.Writer
	client              *http.Client
}

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
	fs := flag.NewFlagSet("ctl", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := &ctl{out: stdout, errw: stderr, client: &http.Client{Timeout: 30 * time.Second}}
	fs.StringVar(&c.addr, "addr", os.Getenv("RINGSIDE_ADDR"), "admin API base URL, e.g. http://127.0.0.1:8081")
	fs.StringVar(&c.token, "token", os.Getenv("RINGSIDE_TOKEN"), "admin bearer token")
	fs.StringVar(&c.output, "o", "table", "output: table or json")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprint(stderr, ctlUsage)
		return exitUsage
	}
	if c.addr == "" {
		fmt.Fprintln(stderr, "ringside ctl: no address: use --addr or RINGSIDE_ADDR")
		return exitUsage
	}
	if !strings.Contains(c.addr, "://") {
		c.addr = "http://" + c.addr
	}
	c.addr = strings.TrimRight(c.addr, "/")
	if c.output != "table" && c.output != "json" {
		fmt.Fprintln(stderr, "ringside ctl: -o must be table or json")
		return exitUsage
	}
	err := c.dispatch(fs.Args())
	var ce *ctlError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ce):
		fmt.Fprintln(stderr, "ringside ctl:", ce.msg)
		if ce.code == exitUsage {
			fmt.Fprint(stderr, ctlUsage)
		}
		return ce.code
	default:
		fmt.Fprintln(stderr, "ringside ctl:", err)
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
	}
	return usageErr("unknown command %q", cmd)
}

// do sends one request and decodes the JSON answer into out (may be nil).
// Server errors come back as *ctlError with the problem's detail.
func (c *ctl) do(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.addr+"/admin/v1/"+path, rd)
	if err != nil {
		return usageErr("bad address %q: %v", c.addr, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return &ctlError{exitUnreachable, err.Error()}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return &ctlError{exitUnreachable, err.Error()}
	}
	if resp.StatusCode >= 400 {
		return &ctlError{exitServerError, problemText(resp.StatusCode, raw)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("bad answer from the server: %w", err)
		}
	}
	return nil
}

// problemText renders an RFC 9457 answer for a person.
func problemText(status int, raw []byte) string {
	var p struct {
		Detail string `json:"detail"`
		Errors []struct {
			Field, Message string
		} `json:"errors"`
	}
	if json.Unmarshal(raw, &p) != nil || p.Detail == "" {
		return fmt.Sprintf("%d %s: %s", status, http.StatusText(status), strings.TrimSpace(string(raw)))
	}
	msg := fmt.Sprintf("%d %s: %s", status, http.StatusText(status), p.Detail)
	for _, f := range p.Errors {
		msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Message)
	}
	return msg
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

type nodeRow struct {
	ID     string   `json:"id"`
	Roles  []string `json:"roles"`
	Tier   string   `json:"tier"`
	Region string   `json:"region"`
	HTTP   string   `json:"http"`
	State  string   `json:"state"`
	Load   float64  `json:"load"`
	Drain  bool     `json:"drain"`
	Events []string `json:"events"`
}

type nodesAnswer struct {
	Self          string    `json:"self"`
	ConfigVersion uint64    `json:"config_version"`
	Leader        string    `json:"control_leader"`
	Nodes         []nodeRow `json:"nodes"`
}

func (c *ctl) status() error {
	var a nodesAnswer
	if err := c.do("GET", "nodes", nil, &a); err != nil {
		return err
	}
	return c.emit(a, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "node %s, config version %d, control leader %s, %d members\n\n", a.Self, a.ConfigVersion, orDash(a.Leader), len(a.Nodes))
		nodeTable(w, a.Nodes)
	})
}

func nodeTable(w *tabwriter.Writer, rows []nodeRow) {
	fmt.Fprintln(w, "ID\tROLES\tTIER\tREGION\tHTTP\tSTATE\tLOAD\tDRAIN\tINGESTS")
	for _, n := range rows {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%.2f\t%v\t%s\n", n.ID, strings.Join(n.Roles, ","), orDash(n.Tier),
			orDash(n.Region), n.HTTP, n.State, n.Load, n.Drain, orDash(strings.Join(n.Events, ",")))
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
		var a nodesAnswer
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
	var res map[string]any
	if err := c.do(method, path, body, &res); err != nil {
		return err
	}
	return c.emit(res, func(w *tabwriter.Writer) {
		v, _ := res["version"].(float64)
		if v > 0 {
			fmt.Fprintf(w, "%s (config version %d)\n", done, int64(v))
		} else {
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
	var res struct {
		Target string                    `json:"target"`
		Purged int                       `json:"purged"`
		Nodes  map[string]map[string]any `json:"nodes"`
	}
	if err := c.do("POST", "purge", map[string]string{"key": *key, "prefix": *prefix, "event": *event}, &res); err != nil {
		return err
	}
	return c.emit(res, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "purged %d objects under %s on %d nodes\n", res.Purged, res.Target, len(res.Nodes))
	})
}
