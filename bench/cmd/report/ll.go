package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ringside-live/ringside/bench/llcrowd"
)

// llMeta is what bench/ll.bash records about its rounds.
type llMeta struct {
	Date     string            `json:"date"`
	NProc    int               `json:"nproc"`
	CPUModel string            `json:"cpu_model"`
	Memory   string            `json:"memory"`
	Kernel   string            `json:"kernel"`
	LoadAvg  string            `json:"loadavg_at_start"`
	IdlePct  int               `json:"idle_pct_at_start"`
	NoFile   string            `json:"nofile"`
	Ringside string            `json:"ringside"`
	Go       string            `json:"go"`
	Nginx    string            `json:"nginx"`
	Varnish  string            `json:"varnish"`
	Systems  string            `json:"systems"`
	Knobs    map[string]string `json:"knobs"`
}

// llSys is what bench/ll.bash read of a system around one crowd run.
type llSys struct {
	System string `json:"system"`
	Run    int    `json:"run"`
	// CPUS is the user+system CPU time of the system's processes during
	// the run, OriginCPUS the LL origin simulator's.
	CPUS       float64 `json:"cpu_s"`
	OriginCPUS float64 `json:"origin_cpu_s"`
	// MachineCPUS is every process's CPU time over the run, the kernel's
	// included: what is left after the system, the origin and the load
	// generator is other work on the machine.
	MachineCPUS float64 `json:"machine_cpu_s"`
	DurationS   float64 `json:"duration_s"`
	IdlePct     int     `json:"idle_pct_before"`
	LoadAvg     string  `json:"loadavg_before"`
	Processes   int     `json:"processes"`
	VmHWMKB     int64   `json:"vmhwm_kb"`
}

// llResults is everything the LL-HLS rounds left in a results directory.
type llResults struct {
	meta   *llMeta // nil when there were no LL rounds
	crowds []llcrowd.Report
	sys    map[string]llSys // by system and run: "label/run"
	notes  []string
}

// parkedLabel is the many-parked round's system name in bench/ll.bash.
const parkedLabel = "ringside-1-parked"

func loadLL(dir string) (llResults, error) {
	var res llResults
	var m llMeta
	err := readJSON(filepath.Join(dir, "ll-meta.json"), &m)
	if errors.Is(err, os.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return res, err
	}
	res.meta = &m
	errs := loadAll(dir, "ll-crowd-*.json", &res.crowds)
	var sys []llSys
	errs = append(errs, loadAll(dir, "ll-sys-*.json", &sys)...)
	res.sys = make(map[string]llSys, len(sys))
	for _, s := range sys {
		res.sys[sysKey(s.System, s.Run)] = s
	}
	res.notes = readLines(filepath.Join(dir, "ll-notes.txt"))
	return res, errors.Join(errs...)
}

func sysKey(system string, run int) string { return system + "/" + strconv.Itoa(run) }
