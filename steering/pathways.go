package steering

import "net/netip"

// pathways turns the choice into the decision's priority list: the chosen
// pathway, then every other pathway taking new sessions in priority order
// as fallbacks.
func (d *decider) pathways(ch choice) []Pathway {
	out := make([]Pathway, 0, len(d.cands))
	out = append(out, d.pathway(ch.cand, ch.edge, ch.why))
	for i := range d.cands {
		if c := &d.cands[i]; c != ch.cand && c.fresh {
			out = append(out, d.pathway(c, -1, "fallback"))
		}
	}
	return out
}

// pathway describes candidate c; on the mesh, edge (when >= 0) comes
// first and gives the base URL.
func (d *decider) pathway(c *candidate, edge int, why string) Pathway {
	if c.kind == KindCDN {
		return Pathway{ID: c.id, Kind: KindCDN, Hostname: c.cdn.Hostname, BaseURL: c.cdn.BaseURL, Clone: c.cdn.Clone, Why: why}
	}
	p := Pathway{ID: MeshID, Kind: KindMesh, Hostname: d.e.cfg.MeshHostname, BaseURL: d.e.cfg.MeshBaseURL, Why: why}
	if edge < 0 && len(c.open) > 0 {
		edge = c.open[0]
	} else if edge < 0 && len(c.ranked) > 0 {
		edge = c.ranked[0]
	}
	if edge < 0 {
		return p
	}
	edges := d.s.Edges
	if base := edges[edge].BaseURL; d.c.TLS {
		p.BaseURL = edges[edge].TLSBaseURL // "" without one: relative to the steering answer's own origin
	} else if base != "" {
		p.BaseURL = base
	}
	rest := c.open // edges at high water are offered only when all are
	if len(rest) == 0 {
		rest = c.ranked
	}
	n := min(d.e.cfg.MaxAddrs, 1+len(rest))
	p.Addrs = make([]netip.Addr, 0, n)
	p.Addrs = append(p.Addrs, edges[edge].Addr)
	for _, i := range rest {
		if len(p.Addrs) == n {
			break
		}
		if i != edge {
			p.Addrs = append(p.Addrs, edges[i].Addr)
		}
	}
	return p
}
