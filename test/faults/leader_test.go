package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// write is one admin write of the leader scenario: PUT regions/NAME with
// its own Idempotency-Key, retried with that key until acknowledged.
type write struct {
	name  string
	acked bool
	at    time.Time // acknowledged at
}

// writer sends writes to the voters in turn (never to skip), each retried
// with the same key on the next voter until it is acknowledged or ctx ends.
func writer(ctx context.Context, voters []*rnode, skip string, mu *sync.Mutex, log *[]*write) {
	for i := 0; ctx.Err() == nil; i++ {
		w := &write{name: fmt.Sprintf("f-%04d", i)}
		mu.Lock()
		*log = append(*log, w)
		mu.Unlock()
		body := map[string]any{"name": w.name, "cidrs": []string{fmt.Sprintf("10.%d.%d.0/24", 100+i/256, i%256)}}
		hdr := map[string]string{"Idempotency-Key": "faults-" + w.name}
		for a := 0; ctx.Err() == nil; a++ {
			n := voters[(i+a)%len(voters)]
			if n.id == skip {
				continue
			}
			actx, cancel := context.WithTimeout(ctx, 2*time.Second)
			st, _, _, err := n.adminDo(actx, "PUT", "regions/"+w.name, body, hdr)
			cancel()
			if err == nil && st == 200 {
				mu.Lock()
				w.acked, w.at = true, time.Now()
				mu.Unlock()
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// leaderPartition cuts the Raft leader's host from every other host while
// a writer keeps writing through the other voters.
func (s *suite) leaderPartition(t *testing.T) {
	defer s.heal()
	lead := s.mesh.leader()
	old := s.mesh.byID[lead]
	if old == nil {
		t.Fatalf("no leader (%q)", lead)
	}
	var voters []*rnode
	for _, n := range s.mesh.nodes {
		if n.voter {
			voters = append(voters, n)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var log []*write
	done := make(chan struct{})
	go func() { writer(ctx, voters, lead, &mu, &log); close(done) }()
	time.Sleep(2 * time.Second)

	groups := map[string]string{}
	for _, h := range hostNames {
		groups[h] = "rest"
	}
	groups[lead] = "cut"
	s.lab.regroup(groups)
	tCut := time.Now()
	s.lab.fab.setLink("cut", "rest", impair{Cut: true})

	// The old leader, cut off: a write to it, a local read and a
	// consistent read.
	wctx, wcancel := context.WithTimeout(context.Background(), 8*time.Second)
	t0 := time.Now()
	oldSt, oldBody, _, oldErr := old.adminDo(wctx, "PUT", "regions/f-old", map[string]any{"name": "f-old", "cidrs": []string{"10.99.0.0/24"}},
		map[string]string{"Idempotency-Key": "faults-f-old"})
	wcancel()
	oldWrite := fmt.Sprintf("%d after %.1f s", oldSt, time.Since(t0).Seconds())
	if oldErr != nil {
		oldWrite = fmt.Sprintf("no answer after %.1f s (%v)", time.Since(t0).Seconds(), shortErr(oldErr))
	} else if oldSt == 200 {
		t.Errorf("the partitioned old leader acknowledged a write: %s", oldBody)
	}
	rctx, rcancel := context.WithTimeout(context.Background(), 8*time.Second)
	localSt, localBody, localHdr, _ := old.adminDo(rctx, "GET", "config", nil, nil)
	consSt, consBody, _, consErr := old.adminDo(rctx, "GET", "config?consistent=true", nil, nil)
	rcancel()
	var local struct {
		Leader  string `json:"leader"`
		Version uint64 `json:"version"`
	}
	_ = json.Unmarshal(localBody, &local)
	if consErr == nil && consSt == 200 {
		t.Errorf("the partitioned old leader answered a consistent read: %.200s", consBody)
	}

	// Writes resume on the majority side.
	var resumed time.Duration
	if _, ok := waitFor(20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, w := range log {
			if w.acked && w.at.After(tCut) {
				resumed = w.at.Sub(tCut)
				return true
			}
		}
		return false
	}); !ok {
		t.Errorf("no write acknowledged on the majority side within 20 s of the cut")
	}
	newLeader := ""
	for _, n := range voters {
		if n.id != lead {
			if v, err := n.view(); err == nil && v.ControlLeader != "" {
				newLeader = v.ControlLeader
			}
		}
	}
	time.Sleep(3 * time.Second)
	tHeal := time.Now()
	s.heal()
	conv := s.mesh.waitConverged("leader heal", 30*time.Second)
	time.Sleep(time.Second)
	cancel()
	<-done

	// Every acknowledged write is in the document a consistent read of the
	// (new) leader returns, through a voter of the old majority.
	var reader *rnode
	for _, n := range voters {
		if n.id != lead {
			reader = n
		}
	}
	cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
	st, body, _, err := reader.adminDo(cctx, "GET", "config?consistent=true", nil, nil)
	ccancel()
	if err != nil || st != 200 {
		t.Fatalf("consistent read after the heal: %d %v %.200s", st, err, body)
	}
	var doc struct {
		Document struct {
			Regions map[string]json.RawMessage `json:"regions"`
		} `json:"document"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	acked, lost, during := 0, 0, 0
	for _, w := range log {
		if !w.acked {
			continue
		}
		acked++
		if w.at.After(tCut) && w.at.Before(tHeal) {
			during++
		}
		if _, ok := doc.Document.Regions[w.name]; !ok {
			lost++
			t.Errorf("acknowledged write %s is not in the document after the heal", w.name)
		}
	}
	mu.Unlock()
	_, oldKept := doc.Document.Regions["f-old"]
	s.rep.add("leader", "| leader partitioned away | %s (a voter; 3 voters) |", lead)
	s.rep.add("leader", "| writes resume on the majority side (first acknowledged write after the cut; new leader %s) | %.1f s after the cut |", newLeader, resumed.Seconds())
	s.rep.add("leader", "| write sent to the partitioned old leader | %s; in the document after the heal: %v |", oldWrite, oldKept)
	s.rep.add("leader", "| local read on the old leader (GET /admin/v1/config) | %d, version %d, names leader %q (X-Ringside-Served-By %q) |",
		localSt, local.Version, local.Leader, localHdr.Get("X-Ringside-Served-By"))
	s.rep.add("leader", "| consistent read on the old leader (?consistent=true) | %s |", answer(consSt, consBody, consErr))
	s.rep.add("leader", "| acknowledged writes, of them during the partition, lost | %d, %d, %d |", acked, during, lost)
	s.rep.add("leader", "| mesh converged after the heal | %.1f s |", conv.Seconds())
}

func shortErr(err error) string {
	s := err.Error()
	if i := strings.LastIndex(s, ": "); i >= 0 {
		return s[i+2:]
	}
	return s
}

func answer(st int, body []byte, err error) string {
	if err != nil {
		return "no answer (" + shortErr(err) + ")"
	}
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	}
	_ = json.Unmarshal(body, &p)
	if p.Detail != "" {
		return fmt.Sprintf("%d %s: %.160s", st, p.Title, p.Detail)
	}
	return fmt.Sprintf("%d %s", st, p.Title)
}
