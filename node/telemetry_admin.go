package node

import (
	"time"

	"github.com/ringside-live/ringside/admin"
	"github.com/ringside-live/ringside/telemetry"
)

// adminTelemetry is admin.Telemetry over the node's Merger.
type adminTelemetry struct{ t *nodeTelemetry }

// View groups the merged series of event ("" = all) the ways the console
// shows them.
func (a adminTelemetry) View(event string) admin.TelemetryView {
	m := a.t.merger
	v := admin.TelemetryView{Event: event, At: time.Now().UTC()}
	q := func(by telemetry.Grouping) []telemetry.Row {
		rows := m.View(telemetry.Query{Event: event, By: by})
		if rows == nil {
			rows = []telemetry.Row{}
		}
		return rows
	}
	if total := q(0); len(total) > 0 {
		v.Total = total[0]
	}
	v.Total.Event = event
	if event == "" {
		v.ByEvent = q(telemetry.ByEvent)
	}
	v.ByRegion = q(telemetry.ByRegion)
	v.ByPathway = q(telemetry.ByPathway)
	v.ByRegionPathway = q(telemetry.ByRegion | telemetry.ByPathway)
	v.ByRendition = q(telemetry.ByRendition)
	v.Health = []telemetry.HealthStatus{}
	if a.t.health != nil {
		v.Health = a.t.health.Status()
	}
	v.Nodes = m.Nodes()
	return v
}

var _ admin.Telemetry = adminTelemetry{}
