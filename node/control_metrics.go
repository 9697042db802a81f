package node

import (
	"github.com/prometheus/client_golang/prometheus"
)

// registerControlMetrics exports the configuration version every node
// serves, and the Raft position of a control voter. The Raft figures go to
// the operators' registry only: a term and a commit index are what a forged
// AppendEntries needs, so they are not on the public /metrics.
func (n *running) registerControlMetrics() {
	n.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "ringside_config_version", Help: "Version of the configuration document this node serves (0: static config).",
	}, func() float64 { return float64(n.docVersion.Load()) }))
	if !n.cfg.hasRole(RoleControl) || n.cfg.Control.DataDir == "" {
		return
	}
	stat := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	n.opsReg.MustRegister(
		stat("ringside_raft_leader", "1 when this voter leads the control plane.", func() float64 {
			if n.store != nil && n.store.IsLeader() {
				return 1
			}
			return 0
		}),
		stat("ringside_raft_term", "Current Raft term.", func() float64 {
			if n.store == nil {
				return 0
			}
			return float64(n.store.Stats().Term)
		}),
		stat("ringside_raft_commit_index", "Raft commit index.", func() float64 {
			if n.store == nil {
				return 0
			}
			return float64(n.store.Stats().CommitIndex)
		}),
		stat("ringside_raft_applied_index", "Raft index applied to the configuration document.", func() float64 {
			if n.store == nil {
				return 0
			}
			return float64(n.store.Stats().AppliedIndex)
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ringside_raft_checks_total",
			Help: "The leader's log checks this voter compared with its own applied state."}, func() float64 {
			if n.store == nil {
				return 0
			}
			return float64(n.store.Stats().Checks)
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ringside_raft_rejected_conns_total",
			Help: "Inbound Raft connections refused at the TLS handshake (no control certificate from the cluster CA)."}, func() float64 {
			if n.store == nil {
				return 0
			}
			return float64(n.store.Stats().RejectedConns)
		}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ringside_raft_divergences_total",
			Help: "Log checks whose (index, term, document digest) did not match this voter's: its Raft log diverged. Alarm on any."}, func() float64 {
			if n.store == nil {
				return 0
			}
			return float64(n.store.Stats().Divergences)
		}),
	)
}
