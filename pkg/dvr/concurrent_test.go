package dvr

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// TestConcurrent runs writers (one per rendition, as ingest does), readers,
// pins and a drop together under eviction pressure; -race checks the
// locking, the assertions check that readers only ever see whole, correct
// bodies and ordered entries.
func TestConcurrent(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.LiveKeep = 5
	cfg.MaxBytes = 120 << 10
	s, _ := openStore(t, cfg)
	s.compactMin = 32
	events, rends := []string{"a", "b"}, []string{"r0", "r1", "r2"}
	const perRend = 120
	for _, ev := range append(events, "doomed") {
		for _, r := range rends {
			putInit(t, s, ev, r)
		}
	}

	var writers, others sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, 64)
	report := func(err error) {
		select {
		case errs <- err:
		default:
		}
	}
	for _, ev := range events {
		for _, r := range rends {
			writers.Go(func() {
				for m := uint64(1); m <= perRend; m++ {
					e := seg(ev, r, m, 500+int(m%13)*100)
					if err := s.Put(e, body(e.Path, int(e.Size))); err != nil {
						report(fmt.Errorf("Put %s %s: %w", ev, e.Path, err))
						return
					}
				}
			})
		}
	}
	// A retrying writer: identical repeats of stored segments are no-ops,
	// or ErrSequence once evicted.
	others.Go(func() {
		for n := 0; n < 300; n++ {
			select {
			case <-done:
				return
			default:
			}
			es := s.Entries("a", r0, time.Time{}, time.Time{})
			if len(es) == 0 {
				continue
			}
			e := es[len(es)-1-n%len(es)]
			if err := s.Put(e, body(e.Path, int(e.Size))); err != nil && !errors.Is(err, ErrSequence) {
				report(fmt.Errorf("repeat Put %s: %w", e.Path, err))
			}
		}
	})
	// An event dropped while it is written.
	writers.Go(func() {
		for m := uint64(1); m <= 60; m++ {
			e := seg("doomed", "r0", m, 300)
			e.Map = ""
			_ = s.Put(e, body(e.Path, 300))
			if m == 30 {
				if err := s.DropEvent("doomed"); err != nil {
					report(fmt.Errorf("DropEvent: %w", err))
				}
			}
		}
	})
	for i := range 4 {
		others.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for n := 0; n < 5000; n++ {
				select {
				case <-done:
					return
				default:
				}
				ev, r := events[rng.IntN(len(events))], rends[rng.IntN(len(rends))]
				es := s.Entries(ev, r+"/index.m3u8", time.Time{}, time.Time{})
				for j := 1; j < len(es); j++ {
					if es[j].MSN <= es[j-1].MSN {
						report(fmt.Errorf("Entries out of order: %d after %d", es[j].MSN, es[j-1].MSN))
						return
					}
				}
				if len(es) == 0 {
					continue
				}
				e := es[rng.IntN(len(es))]
				got, _, err := s.Get(ev, e.Path)
				if errors.Is(err, ErrNotFound) {
					continue // evicted since Entries
				}
				if err != nil || !bytes.Equal(got, body(e.Path, int(e.Size))) {
					report(fmt.Errorf("Get %s %s: %v (%d bytes)", ev, e.Path, err, len(got)))
					return
				}
				s.Usage()
			}
		})
	}
	others.Go(func() {
		for n := 0; n < 50; n++ {
			from := t0.Add(time.Duration(n) * segDur)
			if err := s.Pin("b", fmt.Sprint("clip", n%4), from, from.Add(segDur)); err != nil {
				report(fmt.Errorf("Pin: %w", err))
				return
			}
			if n%4 == 3 {
				if err := s.Unpin("b", "clip0"); err != nil && !errors.Is(err, ErrNotFound) {
					report(fmt.Errorf("Unpin: %w", err))
					return
				}
			}
		}
	})
	writers.Wait()
	close(done)
	others.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}

	total, _ := s.Usage()
	if total > cfg.MaxBytes {
		t.Fatalf("usage %d over %d", total, cfg.MaxBytes)
	}
	for _, ev := range events {
		for _, r := range rends {
			es := s.Entries(ev, r+"/index.m3u8", time.Time{}, time.Time{})
			if n := len(es); n < cfg.LiveKeep || es[n-1].MSN != perRend {
				t.Fatalf("%s %s: %v", ev, r, msns(es))
			}
			checkBodies(t, s, es)
		}
	}
	before := snapshotOf(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, lb := openStore(t, cfg)
	if after := snapshotOf(s2); !equalState(before, after) {
		t.Fatalf("restart changed the store\n%s", lb)
	}
	if r := s2.Recovery(); r.MissingFiles+r.BadSizeFiles+r.OrphanFiles+r.TempFiles+r.BadRecords != 0 || r.TornBytes != 0 {
		t.Fatalf("a clean Close left repairs: %+v\n%s", r, lb)
	}
}

// TestConcurrentSamePath: identical Puts of one path racing each other all
// succeed (the later ones wait for the first, then compare); a different
// body racing them gets ErrConflict or wins, never both.
func TestConcurrentSamePath(t *testing.T) {
	s, _ := openStore(t, testConfig(t.TempDir()))
	putInit(t, s, "ev", "r0")
	e := seg("ev", "r0", 1, 4000)
	b := body(e.Path, 4000)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			if i == 7 {
				errs[i] = s.Put(e, bytes.Repeat([]byte{'x'}, 4000))
			} else {
				errs[i] = s.Put(e, b)
			}
		})
	}
	wg.Wait()
	got, _, err := s.Get("ev", e.Path)
	if err != nil {
		t.Fatal(err)
	}
	stored7 := bytes.Equal(got, bytes.Repeat([]byte{'x'}, 4000))
	for i, err := range errs {
		mine := i == 7
		switch {
		case mine == stored7 && err != nil:
			t.Fatalf("put %d of the stored body: %v", i, err)
		case mine != stored7 && !errors.Is(err, ErrConflict):
			t.Fatalf("put %d of the other body: %v", i, err)
		}
	}
}
