package main

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// TestSplitArgs: global flags are taken from anywhere; the commands' own
// flags and their values stay, in order.
func TestSplitArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		rest []string
		want ctlGlobals
		err  string
	}{
		{"flag after the command", []string{"events", "list", "-o", "json"}, []string{"events", "list"}, ctlGlobals{output: "json"}, ""},
		{"flag before the command", []string{"-o", "json", "events", "list"}, []string{"events", "list"}, ctlGlobals{output: "json"}, ""},
		{"addr last", []string{"cdns", "list", "--addr", "http://n:8081"}, []string{"cdns", "list"}, ctlGlobals{addr: "http://n:8081"}, ""},
		{"with =", []string{"--addr=n:1", "status", "--token=t", "--output=table"}, []string{"status"},
			ctlGlobals{addr: "n:1", token: "t", output: "table"}, ""},
		{"single dash", []string{"-addr", "n:1", "status", "-token", "t"}, []string{"status"}, ctlGlobals{addr: "n:1", token: "t"}, ""},
		{"local", []string{"events", "--local", "list"}, []string{"events", "list"}, ctlGlobals{local: true}, ""},
		{"ca and operator", []string{"status", "--ca", "/etc/ringside/ca.crt", "--operator=alice"}, []string{"status"},
			ctlGlobals{ca: "/etc/ringside/ca.crt", operator: "alice"}, ""},
		{"local=false", []string{"--local=false", "events", "list"}, []string{"events", "list"}, ctlGlobals{}, ""},
		{"command flags stay", []string{"events", "create", "--id", "final", "-o", "json", "--pull-url", "http://o/"},
			[]string{"events", "create", "--id", "final", "--pull-url", "http://o/"}, ctlGlobals{output: "json"}, ""},
		{"a command flag's value is not a global flag", []string{"events", "create", "--id", "x", "--title", "-o", "--addr", "a"},
			[]string{"events", "create", "--id", "x", "--title", "-o"}, ctlGlobals{addr: "a"}, ""},
		{"stdin file", []string{"events", "update", "final", "-f", "-", "--token", "t"},
			[]string{"events", "update", "final", "-f", "-"}, ctlGlobals{token: "t"}, ""},
		{"purge key", []string{"purge", "--key", "/live/a/b.ts", "-o", "json"}, []string{"purge", "--key", "/live/a/b.ts"},
			ctlGlobals{output: "json"}, ""},
		{"negative number", []string{"cdns", "set-weight", "akamai", "-5"}, []string{"cdns", "set-weight", "akamai", "-5"}, ctlGlobals{}, ""},
		{"after --", []string{"events", "list", "--", "-o", "json"}, []string{"events", "list", "-o", "json"}, ctlGlobals{}, ""},
		{"missing value", []string{"events", "list", "-o"}, nil, ctlGlobals{}, "needs an argument"},
		{"bad bool", []string{"--local=maybe", "events", "list"}, nil, ctlGlobals{}, "not true or false"},
		{"help", []string{"events", "--help"}, nil, ctlGlobals{}, "help"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var g ctlGlobals
			rest, err := splitArgs(tt.args, &g)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !slices.Equal(rest, tt.rest) || g != tt.want {
				t.Fatalf("rest %q, globals %+v, err %v; want %q, %+v", rest, g, err, tt.rest, tt.want)
			}
		})
	}
	if _, err := splitArgs([]string{"-h"}, &ctlGlobals{}); !errors.Is(err, errCtlHelp) {
		t.Fatalf("-h: %v", err)
	}
}
