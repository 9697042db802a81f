package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/ringside-live/ringside/identity"
)

const caUsage = `usage: ringside ca COMMAND
  init  --dir DIR [--force] [--ttl 87600h]
  issue --dir DIR --node ID --roles ROLE[,ROLE...] [--hosts HOST[,HOST...]]
        [--ttl 8760h] [--out DIR]
init writes the cluster CA: DIR/ca.pem (give it to every node) and
DIR/ca-key.pem (keep it off the nodes). It refuses to replace a CA unless
--force: the nodes it issued would no longer be trusted.
issue signs a certificate for node ID with the CA in DIR and writes
OUT/ID.pem and OUT/ID-key.pem (OUT defaults to DIR). Roles: ingest, shield,
edge, control, steer. Hosts are the IP addresses and DNS names the node
serves HTTPS as (default 127.0.0.1,::1,localhost).
Exit codes: 0 ok, 1 failure (message on stderr), 2 usage.
`

// caUsageError is a wrong command line: exit code 2 and the usage.
type caUsageError struct{ msg string }

func (e *caUsageError) Error() string { return e.msg }

func caUsageErr(format string, args ...any) error {
	return &caUsageError{fmt.Sprintf(format, args...)}
}

// runCA runs `ringside ca` and returns the exit code: 0 ok, 1 failure, 2
// usage, as ringside ctl does.
func runCA(args []string, stdout, stderr io.Writer) int {
	err := caDispatch(args, stdout)
	var ue *caUsageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		if ue.msg != "" {
			fmt.Fprintln(stderr, "ringside ca:", ue.msg)
		}
		fmt.Fprint(stderr, caUsage)
		return 2
	default:
		fmt.Fprintln(stderr, "ringside ca:", err)
		return 1
	}
}

func caDispatch(args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return &caUsageError{}
	}
	switch args[0] {
	case "init":
		return caInit(args[1:], stdout)
	case "issue":
		return caIssue(args[1:], stdout)
	case "-h", "--help", "help":
		return &caUsageError{}
	}
	return caUsageErr("unknown command %q", args[0])
}

func caInit(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("ca init", flag.ContinueOnError)
	dir := fl.String("dir", "", "")
	force := fl.Bool("force", false, "")
	ttl := fl.Duration("ttl", identity.DefaultCATTL, "")
	if err := parseCAFlags(fl, args); err != nil {
		return err
	}
	switch {
	case *dir == "":
		return caUsageErr("init: --dir DIR is required")
	case *ttl <= 0:
		return caUsageErr("init: --ttl must be positive")
	}
	ca, err := identity.NewCA(*ttl)
	if err != nil {
		return err
	}
	certPath, keyPath, err := ca.WriteFiles(*dir, *force)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w (--force replaces it)", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (%s, expires %s)\n", certPath, ca.Cert.Subject.CommonName, ca.Cert.NotAfter.UTC().Format(time.DateOnly))
	fmt.Fprintf(stdout, "wrote %s (mode 0600: whoever holds it can make nodes)\n", keyPath)
	return nil
}

func caIssue(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("ca issue", flag.ContinueOnError)
	dir := fl.String("dir", "", "")
	id := fl.String("node", "", "")
	roles := fl.String("roles", "", "")
	hosts := fl.String("hosts", "", "")
	ttl := fl.Duration("ttl", identity.DefaultNodeTTL, "")
	out := fl.String("out", "", "")
	if err := parseCAFlags(fl, args); err != nil {
		return err
	}
	var problems []string
	if *dir == "" {
		problems = append(problems, "--dir DIR is required")
	}
	if !identity.ValidID(*id) {
		problems = append(problems, fmt.Sprintf("--node %q is not a node id (lower case letters, digits, - and _; at most 63)", *id))
	}
	roleList := splitList(*roles)
	if len(roleList) == 0 {
		problems = append(problems, "--roles is required: "+strings.Join(identity.Roles(), ", "))
	}
	for _, r := range roleList {
		if !identity.ValidRole(r) {
			problems = append(problems, fmt.Sprintf("unknown role %q (known: %s)", r, strings.Join(identity.Roles(), ", ")))
		}
	}
	if *ttl <= 0 {
		problems = append(problems, "--ttl must be positive")
	}
	if len(problems) > 0 {
		return caUsageErr("issue: %s", strings.Join(problems, "; "))
	}
	if *out == "" {
		*out = *dir
	}
	ca, err := identity.LoadCA(*dir)
	if err != nil {
		return err
	}
	nc, err := ca.Issue(*id, roleList, *ttl, splitList(*hosts))
	if err != nil {
		return err
	}
	certPath, keyPath, err := nc.WriteFiles(*out)
	if err != nil {
		return err
	}
	c := nc.Cert
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	fmt.Fprintf(stdout, "wrote %s (node %s, roles %s, hosts %s, expires %s)\n", certPath, nc.Peer.ID,
		strings.Join(nc.Peer.Roles, ","), strings.Join(names, ","), c.NotAfter.UTC().Format(time.RFC3339))
	fmt.Fprintf(stdout, "wrote %s (mode 0600)\n", keyPath)
	return nil
}

// parseCAFlags parses a subcommand's flags; any error is a usage error.
func parseCAFlags(fl *flag.FlagSet, args []string) error {
	fl.SetOutput(io.Discard)
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return &caUsageError{}
		}
		return caUsageErr("%s: %v", fl.Name(), err)
	}
	if fl.NArg() > 0 {
		return caUsageErr("%s: unexpected argument %q", fl.Name(), fl.Arg(0))
	}
	return nil
}

// splitList splits "a, b,,c" into [a b c].
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
