package node

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	miekg "github.com/miekg/dns"

	dnssrv "github.com/ringside-live/ringside/steering/dns"
)

// TestDNSNameServers: steering.ns entries carry their addresses after the
// name; the default ns1.{zone} gets dns_listen's address; a name server
// inside the zone with no address is a configuration error that names
// the keys to set.
func TestDNSNameServers(t *testing.T) {
	tests := []struct {
		name, listen string
		ns           []string
		want         string // fmt of the name servers, or the error's text
	}{
		{"default, specific listen", "192.0.2.53:53", nil, "[{ns1.ringside.test. [192.0.2.53]}]"},
		{"addresses after the name", "0.0.0.0:53", []string{"ns1.ringside.test. 192.0.2.53 2001:db8::53", "ns.example.net"},
			"[{ns1.ringside.test. [192.0.2.53 2001:db8::53]} {ns.example.net. []}]"},
		{"default, wildcard listen", "0.0.0.0:53", nil, "steering.ns"},
		{"bad address", "127.0.0.1:53", []string{"ns1.ringside.test. 192.0.2.300"}, "steering.ns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := DefaultConfig().Steering
			sc.DNSListen, sc.NS = tt.listen, tt.ns
			ns, err := dnsNameServers(sc)
			if err == nil {
				dc := dnssrv.DefaultConfig()
				dc.NS = ns
				if err = dc.Validate(); err != nil {
					err = dnsConfigError(err)
				}
			}
			got := fmt.Sprint(ns)
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tt.want) {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

// TestDNSGlue: the node's zone has ns1.{zone} with the listen address,
// as an answer and as glue.
func TestDNSGlue(t *testing.T) {
	n := steerNode(t, okServer(t), func(c *Config) { c.Steering.DNSListen = "127.0.0.1:0" })
	r, err := miekg.Exchange(new(miekg.Msg).SetQuestion("ringside.test.", miekg.TypeNS), n.DNSAddr())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Answer) != 1 || len(r.Extra) != 1 || r.Extra[0].(*miekg.A).A.String() != "127.0.0.1" {
		t.Fatalf("NS answer %v, additional %v", r.Answer, r.Extra)
	}
	r, err = miekg.Exchange(new(miekg.Msg).SetQuestion("ns1.ringside.test.", miekg.TypeA), n.DNSAddr())
	if err != nil || len(r.Answer) != 1 || netip.MustParseAddr(r.Answer[0].(*miekg.A).A.String()) != netip.MustParseAddr("127.0.0.1") {
		t.Fatalf("ns1 A: %v %v", r, err)
	}
}
