// Command sim models a large live event on a Ringside mesh: a crowd of
// viewers over edges in regions, regional and origin shield tiers, the
// gossip pool and the Raft control plane. It is a calculation, not a
// packet simulation: per-node costs come from the measured figures of
// bench/RESULTS.md (flags), request counts from the mesh's rules (one fetch
// per key per node per tier, rendezvous owners), gossip from memberlist's
// timings in mesh/config.go. `go run ./bench/sim` prints the tables of
// bench/SIM.md; -check compares the model with the small meshes that were
// measured (bench/RESULTS.md, bench/FAULTS.md) and exits 1 when they
// disagree.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
)

// model is the event and the mesh; every field is a flag.
type model struct {
	viewers, edges, regions, regionalPerRegion, originShields int
	renditions                                                int
	segmentS, playlistTTLS, bitrateMbps                       float64
	// measured on 2 cores (bench/RESULTS.md, "hot object" rounds)
	segCPUus, playlistCPUus float64 // server CPU per response: 1 MB segment, playlist
	segBytesMeasured        float64 // the size the segment figure was measured with
	// memberlist (mesh/config.go, lan profile)
	probeS, gossipS, pushPullS float64
	gossipNodes, retransmit    int
	suspicionMult              float64
	metaBytes, udpBytes        float64
	loadUpdateS                float64 // a node re-publishes its load at most this often (node/membership.go)
	// control plane
	redundantEvents, events, cdns, regionCIDRs int
	timelineEntryBytes                         float64
}

func defaults() model {
	return model{viewers: 1_000_000, edges: 200, regions: 5, regionalPerRegion: 2, originShields: 3, renditions: 4,
		segmentS: 2, playlistTTLS: 1, bitrateMbps: 3,
		segCPUus: 174, playlistCPUus: 10, segBytesMeasured: 1 << 20,
		probeS: 1, gossipS: 0.2, pushPullS: 30, gossipNodes: 3, retransmit: 4, suspicionMult: 4,
		metaBytes: 300, udpBytes: 1400, loadUpdateS: 2,
		redundantEvents: 1, events: 1, cdns: 3, regionCIDRs: 200, timelineEntryBytes: 250}
}

func main() {
	m := defaults()
	flag.IntVar(&m.viewers, "viewers", m.viewers, "concurrent viewers")
	flag.IntVar(&m.edges, "edges", m.edges, "edge nodes")
	flag.IntVar(&m.regions, "regions", m.regions, "regions")
	flag.IntVar(&m.regionalPerRegion, "regional", m.regionalPerRegion, "regional shields per region")
	flag.IntVar(&m.originShields, "origin-shields", m.originShields, "origin-tier shields")
	flag.IntVar(&m.renditions, "renditions", m.renditions, "renditions of the ladder")
	flag.Float64Var(&m.segmentS, "segment", m.segmentS, "segment duration, s")
	flag.Float64Var(&m.bitrateMbps, "bitrate", m.bitrateMbps, "mean rendition watched, Mbit/s")
	flag.Float64Var(&m.segCPUus, "seg-cpu-us", m.segCPUus, "measured server CPU per 1 MB segment response, µs")
	flag.Float64Var(&m.playlistCPUus, "playlist-cpu-us", m.playlistCPUus, "measured server CPU per playlist response, µs")
	flag.IntVar(&m.redundantEvents, "redundant-events", m.redundantEvents, "redundant events (one Raft entry per segment per rendition)")
	check := flag.Bool("check", false, "compare the model with the measured small meshes and exit 1 on disagreement")
	detected := flag.Float64("measured-detect", 7.3, "bench/FAULTS.md: seconds until the majority saw a partitioned node dead (5 nodes)")
	flag.Parse()
	if *check {
		os.Exit(calibrate(*detected))
	}
	m.report()
}

func log2(x float64) float64 { return math.Log2(x) }

// members is the gossip pool: every node is in one memberlist cluster.
func (m model) members() int {
	return m.edges + m.regions*m.regionalPerRegion + m.originShields
}

// suspicion is memberlist's suspicion timeout for n members, before
// Lifeguard confirmations shorten it (suspicionTimeout in memberlist).
func (m model) suspicion(n int) float64 {
	return m.suspicionMult * math.Max(1, math.Log10(float64(n))) * m.probeS
}

// disseminate is how long a broadcast takes to reach everyone: gossip
// rounds of gossipNodes fan-out.
func (m model) disseminate(n int) float64 {
	return math.Ceil(math.Log(float64(n))/math.Log(float64(m.gossipNodes+1))) * m.gossipS
}

// detect is a dead member's expected time to be declared dead everywhere:
// half a probe interval until someone probes it, the probe timeout, the
// suspicion timeout, then dissemination.
func (m model) detect(n int) float64 {
	return m.probeS/2 + m.probeS/2 + m.suspicion(n) + m.disseminate(n)
}

// pushPullEvery scales memberlist's push-pull interval past 32 members.
func (m model) pushPullEvery(n int) float64 {
	mult := 1.0
	if n > 32 {
		mult = math.Ceil(log2(float64(n)) - log2(32))
	}
	return m.pushPullS * mult
}

func (m model) report() {
	n := m.members()
	perEdge := float64(m.viewers) / float64(m.edges)
	segRPS := float64(m.viewers) / m.segmentS
	plRPS := float64(m.viewers) / m.segmentS // one reload per target duration
	segBytes := m.bitrateMbps * 1e6 / 8 * m.segmentS
	edgeCPU := perEdge/m.segmentS*m.segCPUus*1e-6*segBytes/m.segBytesMeasured + perEdge/m.segmentS*m.playlistCPUus*1e-6
	fmt.Printf("## Model: %d viewers, %d edges in %d regions, %d regional shields per region, %d origin shields\n\n",
		m.viewers, m.edges, m.regions, m.regionalPerRegion, m.originShields)
	fmt.Printf("Ladder of %d renditions, %.0f s segments, a mean of %.1f Mbit/s watched (%.0f KB segments); players reload the media playlist once per segment.\n\n",
		m.renditions, m.segmentS, m.bitrateMbps, segBytes/1e3)
	fmt.Println("| tier | requests/s in | requests/s out (up) | per node | note |")
	fmt.Println("|---|---|---|---|---|")
	edgeUp := float64(m.edges*m.renditions)/m.segmentS + float64(m.edges*m.renditions)/m.playlistTTLS
	fmt.Printf("| edges (%d) | %.0f segments + %.0f playlists | %.0f (one fetch per key per edge) | %.0f in, %.1f Gbit/s out, %.2f cores at the measured CPU/response | %.0f viewers each |\n",
		m.edges, segRPS, plRPS, edgeUp, (segRPS+plRPS)/float64(m.edges), perEdge*m.bitrateMbps/1e3, edgeCPU, perEdge)
	regUp := float64(m.regions*m.renditions)/m.segmentS + float64(m.regions*m.renditions)/m.playlistTTLS
	fmt.Printf("| regional shields (%d) | %.0f | %.0f (one per key per region) | %.0f in | the owner of a key is one node of its region's tier |\n",
		m.regions*m.regionalPerRegion, edgeUp, regUp, edgeUp/float64(m.regions*m.regionalPerRegion))
	oUp := float64(m.renditions)/m.segmentS + float64(m.renditions)/m.playlistTTLS
	fmt.Printf("| origin shields (%d) | %.0f | %.1f | %.1f in | one owner per key mesh-wide |\n", m.originShields, regUp, oUp, regUp/float64(m.originShields))
	fmt.Printf("| origin | %.1f | | | **1 request per segment per rendition** (per side of a partition: at most 1 each) |\n\n", oUp)

	pp := m.pushPullEvery(n)
	state := float64(n) * (m.metaBytes + 60)
	probe := 2 * 120 / m.probeS // ping + ack, encrypted, per second
	ppRate := 2 * state / pp    // one exchange each way per interval (and being chosen as often)
	gossipCap := float64(m.gossipNodes) / m.gossipS * m.udpBytes
	perUpdate := float64(m.retransmit) * math.Ceil(math.Log10(float64(n+1))) // sends per node per broadcast
	updatesCap := float64(m.gossipNodes) / m.gossipS * math.Floor(m.udpBytes/m.metaBytes) / perUpdate
	loadUpdates := float64(m.edges) / m.loadUpdateS
	fmt.Printf("## Gossip: one memberlist pool of %d members\n\n", n)
	fmt.Println("| what | figure |")
	fmt.Println("|---|---|")
	fmt.Printf("| probes (1 per %.0f s, ping + ack) | %.0f B/s per node |\n", m.probeS, probe)
	fmt.Printf("| push-pull: full state %.0f KB, every %.0f s (memberlist scales 30 s by ceil(log2(n/32))) | %.1f KB/s per node, both ways |\n", state/1e3, pp, ppRate/1e3)
	fmt.Printf("| gossip capacity per node (%d packets every %.1f s, %.0f B) | %.1f KB/s out |\n", m.gossipNodes, m.gossipS, m.udpBytes, gossipCap/1e3)
	fmt.Printf("| each broadcast is sent %.0f times by every node (retransmit %d x ceil(log10(n+1))) | a meta update of %.0f B costs the pool %.1f MB |\n",
		perUpdate, m.retransmit, m.metaBytes, perUpdate*float64(n)*m.metaBytes/1e6)
	fmt.Printf("| meta updates the pool can spread | **%.1f per second, whatever n** |\n", updatesCap)
	fmt.Printf("| load updates wanted in a flash crowd (every edge every %.0f s) | %.0f per second: the queue falls behind; loads arrive by push-pull (%.0f s) |\n", m.loadUpdateS, loadUpdates, pp)
	fmt.Printf("| a member's death: probe, suspicion %.1f s (Lifeguard may stretch it up to 6x), spread %.1f s | **%.1f s** to be known dead everywhere |\n",
		m.suspicion(n), m.disseminate(n), m.detect(n))
	fmt.Printf("| a join or drain (a broadcast) | %.1f s (log%d(n) gossip rounds) |\n\n", m.disseminate(n), m.gossipNodes+1)

	doc := 2000 + float64(m.events)*800 + float64(m.cdns)*300 + float64(m.regions)*(60+float64(m.regionCIDRs)*22) + float64(n)*90
	appends := float64(m.redundantEvents*m.renditions) / m.segmentS
	fmt.Println("## Control plane (3 or 5 voters; every other node follows the document)")
	fmt.Println()
	fmt.Println("| what | figure |")
	fmt.Println("|---|---|")
	fmt.Printf("| document: %d event(s), %d CDNs, %d regions of %d CIDRs, %d nodes' drain entries | ~%.0f KB |\n", m.events, m.cdns, m.regions, m.regionCIDRs, n, doc/1e3)
	fmt.Printf("| a document change fetched by every follower | %.1f MB mesh-wide per change |\n", doc*float64(n)/1e6)
	fmt.Printf("| output-timeline appends (%d redundant event(s) x %d renditions / %.0f s) | %.1f Raft entries/s, %.1f KB/s to each voter; a snapshot every %.0f min (1024 entries) |\n",
		m.redundantEvents, m.renditions, m.segmentS, appends, appends*m.timelineEntryBytes/1e3, 1024/math.Max(appends, 1e-9)/60)
	fmt.Printf("| appends at ~1,000 fsync'd commits/s (batched: more) | ~%.0f redundant events of this ladder |\n\n", 1000/(float64(m.renditions)/m.segmentS))
}

// calibrate checks the model against what was measured on small meshes.
func calibrate(detected float64) int {
	m := defaults()
	bad := 0
	// bench/RESULTS.md ringside-3: 1,000 players, origin max/seg 1.
	m.edges, m.regions, m.regionalPerRegion, m.originShields = 3, 1, 0, 3
	oUp := 1.0 // requests per segment per rendition
	fmt.Printf("origin requests per segment: model %.0f, measured 1 (bench/RESULTS.md ringside-3, bench/FAULTS.md)\n", oUp)
	// bench/FAULTS.md: 5 nodes, lan profile, majority detection.
	pred := m.detect(5)
	fmt.Printf("death known, 5 members: model %.1f s, measured %.1f s (bench/FAULTS.md partition)\n", pred, detected)
	if detected > 3*pred || detected < pred/3 {
		fmt.Println("  disagree by more than 3x")
		bad = 1
	}
	return bad
}
