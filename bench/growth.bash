# bench/growth.bash: the cost-of-growth rounds of bench/run, sourced by it
# (`bench/run growth` runs them alone; they use hot.bash's
# hot_start_ringside and busy_ticks, and bench/run's helpers).
#
# For each crowd size in GROWTH_PLAYERS, a fresh Ringside node (zero-copy
# bodies, as hot.bash starts it) serves a crowd of that many players
# (bench/cmd/crowd) joining over GROWTH_JOIN_S and watching for
# GROWTH_DURATION_S; the node's CPU time over the run, its peak RSS
# (VmHWM) and the peak bytes of its body files (memfds: shared memory,
# outside RSS until mapped and touched, so counted apart and added) give
# CPU and memory per 1,000 players, so an operator can size a box. Every
# run records `uptime`, the load generator's CPU and the other work on
# the machine. Results: $RESULTS/growth-*.json, $RESULTS/growth.md.

GROWTH_PLAYERS=${GROWTH_PLAYERS:-1000 5000 10000}
GROWTH_JOIN_S=${GROWTH_JOIN_S:-10}
GROWTH_DURATION_S=${GROWTH_DURATION_S:-30}
GROWTH_RENDITIONS=${GROWTH_RENDITIONS:-r0}

# memfd_bytes PID: bytes of the process's body files now.
memfd_bytes() {
	local total=0 f s
	for f in /proc/"$1"/fd/*; do
		[[ $(readlink "$f" 2>/dev/null) == /memfd:ringside-body* ]] || continue
		s=$(stat -L -c %s "$f" 2>/dev/null) || continue
		total=$((total + (s + 4095) / 4096 * 4096))
	done
	echo "$total"
}

growth_run() {
	local players=$1 pid s0 s1 m0 m1 t0 hz peak_mem=0 b cpid up load
	hz=$(getconf CLK_TCK)
	HOT_PID=() HOT_BASE=()
	hot_start_ringside growth $((PORT_BASE + 12)) 65536
	pid=${HOT_PID[growth]}
	wait_http "${HOT_BASE[growth]}r0/index.m3u8" 20 || { note "growth: the node did not start"; return 0; }
	up=$(uptime)
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	s0=$(cpu_ticks "$pid")
	m0=$(busy_ticks)
	t0=$SECONDS
	start "growth-crowd-$players" timeout $((GROWTH_DURATION_S + 60)) "$BIN/crowd" -players "$players" -join "${GROWTH_JOIN_S}s" \
		-duration "${GROWTH_DURATION_S}s" -max-requests 5000000 -renditions "$GROWTH_RENDITIONS" -join-segments 3 \
		-base "${HOT_BASE[growth]}" -label "ringside-growth" -run "$players" -out "$RESULTS/growth-crowd-$players.json"
	cpid=$LAST_PID
	while kill -0 "$cpid" 2>/dev/null; do
		b=$(memfd_bytes "$pid")
		((b > peak_mem)) && peak_mem=$b
		sleep 1
	done
	wait "$cpid" 2>/dev/null || true
	forget "$cpid"
	m1=$(busy_ticks)
	s1=$(cpu_ticks "$pid")
	jq -cn --argjson players "$players" --arg uptime "$up" --arg load "$load" \
		--argjson server "$(awk -v d=$((s1 - s0)) -v hz="$hz" 'BEGIN {printf "%.2f", d / hz}')" \
		--argjson machine "$(awk -v d=$((m1 - m0)) -v hz="$hz" 'BEGIN {printf "%.2f", d / hz}')" \
		--argjson wall $((SECONDS - t0)) --argjson hwm "$(awk '/^VmHWM:/ {print $2 * 1024}' "/proc/$pid/status")" \
		--argjson files "$peak_mem" '{players: $players, uptime: $uptime, loadavg: $load, server_cpu_s: $server,
		  machine_busy_s: $machine, wall_s: $wall, vmhwm_bytes: $hwm, body_files_peak_bytes: $files}' \
		>"$RESULTS/growth-$players.json"
	log "growth: $players players: server CPU $((s1 - s0)) ticks, RSS peak $(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status") kB, body files peak $peak_mem bytes"
	stop "$pid"
	HOT_PID=()
}

growth_render() {
	jq -rs --slurpfile crowds <(cat "$RESULTS"/growth-crowd-*.json | jq -c .) --arg rend "$GROWTH_RENDITIONS" \
		--arg join "$GROWTH_JOIN_S" --arg dur "$GROWTH_DURATION_S" '
		def r2: . * 100 | round / 100;
		def r1: . * 10 | round / 10;
		($crowds | map({key: (.run | tostring), value: .}) | from_entries) as $c
		| "## Cost of growth: CPU and memory per 1,000 players (bench/run growth)\n",
		  "One Ringside node (edge and shield, zero-copy bodies) per crowd size, fresh for each; players join over \($join) s and watch for \($dur) s in all, rendition \($rend) (the origin simulator'"'"'s 128 KiB, 2-s segments: 0.5 Mbit/s), each fetching its playlist every segment and every new segment. `CPU` is the node'"'"'s user+system time over the run divided by the run'"'"'s length (the join window included, so the steady state costs a little more); `memory` is the node'"'"'s peak RSS plus the peak bytes of its body files (memfd pages the kernel holds for sendfile; they are shared memory, not in RSS until touched). The crowd and the node share the 2 cores; `other work` is the machine'"'"'s busy time less the node'"'"'s and the crowd'"'"'s, in cores.\n",
		  "| players | node CPU, cores | CPU per 1,000 players, cores | peak RSS MiB | body files MiB | memory per 1,000 players, MiB | requests | errors | skipped | crowd CPU, cores | other work, cores | uptime before the run |",
		  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
		  (sort_by(.players)[] as $g | ($c[$g.players | tostring]) as $k |
		   ($g.server_cpu_s / $g.wall_s) as $cores |
		   (($g.vmhwm_bytes + $g.body_files_peak_bytes) / 1048576) as $mem |
		   ($k.loadgen_cpu.total_s // 0) as $crowd |
		   "| \($g.players) | \($cores | r2) | \($cores / $g.players * 1000 | r2) | \($g.vmhwm_bytes / 1048576 | r1) | \($g.body_files_peak_bytes / 1048576 | r1) | \($mem / $g.players * 1000 | r1) | \($k.requests // "?") | \($k.errors // "?") | \($k.skipped // "?") | \($crowd / $g.wall_s | r2) | \((($g.machine_busy_s - $g.server_cpu_s - $crowd) / $g.wall_s) | r2) | `\($g.uptime | sub("^ +"; ""))` |")
		' "$RESULTS"/growth-[0-9]*.json >"$RESULTS/growth.md"
	log "growth: table in $RESULTS/growth.md"
}

growth_phase() {
	local p
	rm -f "$RESULTS"/growth-* "$RESULTS"/growth.md
	command -v jq >/dev/null || { note "growth rounds skipped: jq missing"; return 0; }
	HOT_RINGSIDE_BIN=${HOT_RINGSIDE_BIN:-$BIN/ringside}
	[[ -x $HOT_RINGSIDE_BIN ]] || (cd "$ROOT" && go build -o "$BIN/ringside" ./cmd/ringside)
	for p in $GROWTH_PLAYERS; do growth_run "$p"; done
	growth_render
}
