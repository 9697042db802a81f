package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ctlGlobals are the flags of `ringside ctl` that may stand anywhere on
// the command line, before or after the command (as with kubectl or gh).
type ctlGlobals struct {
	addr, token, output string
	ca                  string // CA bundle (PEM) that verifies an https address; "": the system roots
	operator            string // who is asking, for the history (X-Ringside-Operator)
	local               bool   // read the node's local copy, not the leader's
}

// globalValueFlags take a value; globalBoolFlags do not.
var (
	globalValueFlags = map[string]bool{"addr": true, "token": true, "o": true, "output": true, "ca": true, "operator": true}
	globalBoolFlags  = map[string]bool{"local": true}
	// commandValueFlags are the commands' own flags that take a value: the
	// value is passed on untouched even if it looks like a global flag.
	commandValueFlags = map[string]bool{"f": true, "id": true, "title": true, "pull-url": true, "stream-key": true,
		"state": true, "key": true, "prefix": true, "event": true, "key-file": true,
		"reason": true, "name": true, "from": true, "to": true}
)

// errCtlHelp: -h or --help anywhere asks for the usage.
var errCtlHelp = errors.New("help requested")

// splitArgs takes the global flags out of args, wherever they stand, into
// g, and returns the rest (the command, its arguments and its own flags)
// in order. After "--" nothing is a global flag.
func splitArgs(args []string, g *ctlGlobals) ([]string, error) {
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(rest, args[i+1:]...), nil
		}
		name, value, hasValue := flagParts(a)
		switch {
		case name == "":
			rest = append(rest, a)
		case name == "h" || name == "help":
			return nil, errCtlHelp
		case globalValueFlags[name]:
			if !hasValue {
				if i+1 >= len(args) {
					return nil, fmt.Errorf("flag needs an argument: %s", a)
				}
				i++
				value = args[i]
			}
			g.set(name, value)
		case globalBoolFlags[name]:
			b, err := strconv.ParseBool(value)
			if !hasValue {
				b, err = true, nil
			}
			if err != nil {
				return nil, fmt.Errorf("flag %s: %q is not true or false", a, value)
			}
			g.local = b
		case commandValueFlags[name] && !hasValue && i+1 < len(args):
			rest = append(rest, a, args[i+1])
			i++
		default:
			rest = append(rest, a)
		}
	}
	return rest, nil
}

// flagParts splits "-name", "--name" or "--name=value"; name is "" for an
// argument that is not a flag ("-" alone is stdin, not a flag).
func flagParts(a string) (name, value string, hasValue bool) {
	if len(a) < 2 || a[0] != '-' {
		return "", "", false
	}
	s := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	if s == "" || s[0] == '-' {
		return "", "", false
	}
	name, value, hasValue = strings.Cut(s, "=")
	return name, value, hasValue
}

func (g *ctlGlobals) set(name, value string) {
	switch name {
	case "addr":
		g.addr = value
	case "token":
		g.token = value
	case "o", "output":
		g.output = value
	case "ca":
		g.ca = value
	case "operator":
		g.operator = value
	}
}
