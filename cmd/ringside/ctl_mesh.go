package main

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ringside-live/ringside/admin"
)

const meshKeysUsage = "mesh keys list | mesh keys install|use|remove (--key-file FILE | KEY)"

// mesh runs `ctl mesh keys ...`: gossip key rotation on every member.
func (c *ctl) mesh(args []string) error {
	if len(args) == 0 || args[0] != "keys" {
		return usageErr(meshKeysUsage)
	}
	args = args[1:]
	switch {
	case len(args) == 1 && args[0] == "list":
		return c.listMeshKeys()
	case len(args) >= 1 && slices.Contains([]string{admin.KeyInstall, admin.KeyUse, admin.KeyRemove}, args[0]):
		key, err := keyArg(args[1:])
		if err != nil {
			return err
		}
		return c.changeMeshKey(args[0], key)
	}
	return usageErr(meshKeysUsage)
}

// keyArg is the base64 key of a key command: from --key-file (which
// keeps it out of ps and the shell history) or the one argument.
func keyArg(args []string) (string, error) {
	var file, key string
	n := 0
	for i := 0; i < len(args); i++ {
		name, value, hasValue := flagParts(args[i])
		switch {
		case name == "key-file" && hasValue:
			file, n = value, n+1
		case name == "key-file" && i+1 < len(args):
			file, n = args[i+1], n+1
			i++
		case name != "":
			return "", usageErr("unknown flag %s: %s", args[i], meshKeysUsage)
		default:
			key, n = args[i], n+1
		}
	}
	if n != 1 {
		return "", usageErr("give the key once, with --key-file FILE (preferred) or as an argument: %s", meshKeysUsage)
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usageErr("--key-file: %v", err)
		}
		key = strings.TrimSpace(string(b))
	}
	if _, err := (admin.MeshKeyRequest{Op: admin.KeyInstall, Key: key}).Parse(); err != nil {
		return "", usageErr("the key must be the base64 of 16, 24 or 32 bytes (`head -c 32 /dev/urandom | base64`): %v", err)
	}
	return key, nil
}

func (c *ctl) listMeshKeys() error {
	var res admin.MeshKeysResponse
	if err := c.do("GET", "mesh/keys", nil, &res); err != nil {
		return err
	}
	ids := slices.Sorted(maps.Keys(res.Nodes))
	return c.emit(res, func(w *tabwriter.Writer) {
		fmt.Fprintln(w, "NODE\tPRIMARY\tKEYS")
		rings := map[string]bool{}
		for _, id := range ids {
			v := res.Nodes[id]
			if v.Error != "" {
				fmt.Fprintf(w, "%s\t-\terror: %s\n", id, v.Error)
				rings["error"] = true
				continue
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", id, orDash(v.Primary), orDash(strings.Join(v.Keys, ",")))
			rings[v.Primary+"/"+strings.Join(v.Keys, ",")] = true
		}
		if len(rings) > 1 {
			fmt.Fprintln(w, "\nthe keyrings differ between nodes: a rotation is under way or incomplete")
		}
	})
}

// changeMeshKey runs one rotation step on every member. A step some nodes
// failed exits 1 after listing them: it is safe to repeat.
func (c *ctl) changeMeshKey(op, key string) error {
	var res admin.MeshKeyResponse
	if err := c.do("POST", "mesh/keys", admin.MeshKeyRequest{Op: op, Key: key}, &res); err != nil {
		return err
	}
	var failed []string
	for id, r := range res.Nodes {
		if r.Error != "" {
			failed = append(failed, id)
		}
	}
	slices.Sort(failed)
	done := map[string]string{admin.KeyInstall: "installed", admin.KeyUse: "is now the primary", admin.KeyRemove: "removed"}[op]
	err := c.emit(res, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "key %s %s on %d of %d nodes\n", res.Fingerprint, done, len(res.Nodes)-len(failed), len(res.Nodes))
		for _, id := range failed {
			fmt.Fprintf(w, "  %s failed: %s\n", id, res.Nodes[id].Error)
		}
	})
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return &ctlError{exitServerError, fmt.Sprintf("%s failed on %s: repeat the command once they answer",
			op, strings.Join(failed, ", "))}
	}
	return nil
}
