package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/control"
)

func (c *ctl) events(args []string) error {
	if len(args) == 0 {
		return usageErr(eventsUsage)
	}
	switch sub, rest := args[0], args[1:]; {
	case sub == "list" && len(rest) == 0:
		var a admin.EventsResponse
		if err := c.read("events", &a); err != nil {
			return err
		}
		return c.emit(a.Events, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "ID\tSTATE\tORIGIN\tTITLE")
			for _, e := range a.Events {
				origin := e.PullURL
				if len(e.StreamKeys) > 0 {
					origin = fmt.Sprintf("push (%d keys)", len(e.StreamKeys))
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", e.ID, e.State, origin, orDash(e.Title))
			}
		})
	case sub == "get" && len(rest) == 1:
		var ev control.Event
		if err := c.read("events/"+rest[0], &ev); err != nil {
			return err
		}
		c.output = "json" // an event reads best as JSON
		return c.emit(ev, nil)
	case sub == "create":
		ev, err := eventFromFlags(rest, "")
		if err != nil {
			return err
		}
		return c.write("POST", "events", ev, "event created")
	case sub == "update" && len(rest) >= 1:
		ev, err := eventFromFlags(rest[1:], rest[0])
		if err != nil {
			return err
		}
		return c.write("PUT", "events/"+rest[0], ev, "event "+rest[0]+" updated")
	case sub == "set-state" && len(rest) == 2:
		return c.write("POST", "events/"+rest[0]+"/state", control.EventStateArgs{State: control.EventState(rest[1])},
			"event "+rest[0]+" is now "+rest[1])
	case sub == "feeds" && len(rest) == 1:
		return c.feeds(rest[0])
	case sub == "clips" && len(rest) == 1:
		var a admin.ClipsResponse
		if err := c.read("events/"+rest[0]+"/clips", &a); err != nil {
			return err
		}
		return c.emit(a, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "NODE\tCLIP\tFROM\tTO\tERROR")
			for _, n := range a.Nodes {
				if len(n.Clips) == 0 {
					fmt.Fprintf(w, "%s\t-\t-\t-\t%s\n", n.Node, orDash(n.Error))
				}
				for _, cl := range n.Clips {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t-\n", n.Node, cl.Name, cl.From.Format(time.RFC3339), cl.To.Format(time.RFC3339))
				}
			}
		})
	case sub == "clip" && len(rest) >= 1:
		req, err := clipFromFlags(rest[1:])
		if err != nil {
			return err
		}
		return c.write("POST", "events/"+rest[0]+"/clips", req,
			"clip "+req.Name+" of "+rest[0]+" kept: X.clip-"+req.Name+".m3u8 beside each playlist X.m3u8")
	case sub == "feed":
		pos, reason, ok := positionalsAndReason(rest)
		if !ok || len(pos) != 2 {
			break
		}
		return c.write("POST", "events/"+pos[0]+"/feeds", admin.FeedSwitchRequest{Active: pos[1], Reason: reason},
			"event "+pos[0]+": output switched to the "+pos[1]+" feed")
	}
	return usageErr(eventsUsage)
}

const eventsUsage = "events list | get ID | create | update ID -f FILE | set-state ID STATE | feeds ID | " +
	"feed ID primary|backup [--reason TEXT] | clips ID | clip ID --name N --from RFC3339 --to RFC3339"

// clipFromFlags reads --name, --from and --to (RFC 3339).
func clipFromFlags(args []string) (admin.ClipRequest, error) {
	fs := flag.NewFlagSet("clip", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	name := fs.String("name", "", "")
	from := fs.String("from", "", "")
	to := fs.String("to", "", "")
	bad := usageErr("events clip ID --name N --from RFC3339 --to RFC3339")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *name == "" {
		return admin.ClipRequest{}, bad
	}
	f, err1 := time.Parse(time.RFC3339, *from)
	t, err2 := time.Parse(time.RFC3339, *to)
	if err1 != nil || err2 != nil {
		return admin.ClipRequest{}, usageErr("events clip: --from and --to are RFC 3339 times (2026-12-01T20:15:00Z)")
	}
	return admin.ClipRequest{Name: *name, From: f, To: t}, nil
}

// feeds shows a redundant event's feeds: which one the output follows,
// the last switch and each feed's health.
func (c *ctl) feeds(id string) error {
	var a admin.FeedsResponse
	if err := c.read("events/"+id+"/feeds", &a); err != nil {
		return err
	}
	return c.emit(a, func(w *tabwriter.Writer) {
		fmt.Fprintf(w, "event %s: output on the %s feed (switch back: %s)\n", a.Event, a.Active, a.SwitchBack)
		if s := a.LastSwitch; s != nil {
			fmt.Fprintf(w, "last switch %s: %s -> %s by %s: %s\n", s.At.Format(time.RFC3339), s.From, s.To, orDash(s.By), s.Reason)
		}
		fmt.Fprintln(w, "FEED\tACTIVE\tNODE\tHEALTHY\tPUBLISHING\tSEGMENT_AGE\tBITRATE\tSTALLS\tREJECTED")
		for _, f := range a.Feeds {
			age := "-"
			if f.Receiving {
				age = f.SegmentAge.Round(100 * time.Millisecond).String()
			}
			fmt.Fprintf(w, "%s\t%v\t%s\t%v\t%v\t%s\t%d\t%d\t%d\n", f.Name, f.Active, orDash(f.Node), f.Healthy,
				f.Publishing, age, f.BitrateBps, f.Stalls, f.Rejected)
		}
	})
}

// eventFromFlags reads an event from -f FILE (JSON, "-" for stdin, sent
// as it is: the server names unknown fields) or from
// --id/--title/--state/--pull-url/--stream-key.
func eventFromFlags(args []string, id string) (any, error) {
	fs := flag.NewFlagSet("event", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("f", "", "")
	fid := fs.String("id", id, "")
	title := fs.String("title", "", "")
	pull := fs.String("pull-url", "", "")
	key := fs.String("stream-key", "", "")
	state := fs.String("state", "", "")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return nil, usageErr("event: -f FILE, or --id ID [--title T] [--state S] (--pull-url URL | --stream-key KEY)")
	}
	if *file != "" {
		var b []byte
		var err error
		if *file == "-" {
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(*file)
		}
		if err != nil {
			return nil, usageErr("event file: %v", err)
		}
		if !json.Valid(b) {
			return nil, usageErr("event file %s: not JSON", *file)
		}
		return json.RawMessage(b), nil
	}
	if *fid == "" {
		return nil, usageErr("event: --id is required without -f")
	}
	ev := control.Event{ID: *fid, Title: *title, PullURL: *pull, State: control.EventState(*state)}
	if *key != "" {
		ev.StreamKeys = []string{*key}
	}
	return ev, nil
}

func (c *ctl) cdns(args []string) error {
	switch {
	case len(args) == 1 && args[0] == "list":
		var a admin.CDNsResponse
		if err := c.read("cdns", &a); err != nil {
			return err
		}
		return c.emit(a.CDNs, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "ID\tHOSTNAME\tWEIGHT\tCAPACITY_MBPS\tSTATE")
			for _, x := range a.CDNs {
				fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%s\n", x.ID, x.Hostname, x.Weight, x.CapacityMbps, x.State)
			}
		})
	case len(args) == 3 && args[0] == "set-weight":
		n, err := strconv.Atoi(args[2])
		if err != nil {
			return usageErr("cdns set-weight ID N: %q is not a number", args[2])
		}
		return c.write("POST", "cdns/"+args[1]+"/weight", control.CDNWeightArgs{Weight: n}, "cdn "+args[1]+" weight "+args[2])
	case len(args) == 2 && (args[0] == "drain" || args[0] == "undrain"):
		state := map[string]control.CDNState{"drain": control.CDNDraining, "undrain": control.CDNActive}[args[0]]
		return c.write("POST", "cdns/"+args[1]+"/state", control.CDNStateArgs{State: state}, "cdn "+args[1]+" is "+string(state))
	}
	return usageErr("cdns list | set-weight ID N | drain ID | undrain ID")
}

// positionalsAndReason splits args into positionals and a --reason TEXT
// (or --reason=TEXT) standing anywhere among them.
func positionalsAndReason(args []string) (pos []string, reason string, ok bool) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch name, value, has := flagParts(a); {
		case name == "":
			pos = append(pos, a)
		case name != "reason":
			return nil, "", false
		case has:
			reason = value
		case i+1 < len(args):
			i++
			reason = args[i]
		default:
			return nil, "", false
		}
	}
	return pos, reason, true
}
