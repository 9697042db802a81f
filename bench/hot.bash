# bench/hot.bash: the hot-object rounds of bench/run, sourced by it (they
# use its helpers: start, stop, forget, bounded, render, tree, log,
# nginx_instance, sys_varnish, wait_http, json_str, version, idle_pct,
# cpu_ticks from https.bash). `bench/run hot` runs them alone.
#
# nginx, Varnish and one Ringside node run side by side, all three up at
# once, each with its cache warm; wrk -t2 -c64 measures the hot 1 MB
# segment and the hot playlist on each in turn, round after round, the
# order of the servers rotating from round to round, so the machine's
# noise falls on all of them. Around every run it reads the load average
# (uptime), the server's CPU time, wrk's own CPU time and the machine's
# busy time: what is left ("other work", in cores) is someone else's load
# on the shared machine plus the kernel's loopback work charged to no
# process. Results: $RESULTS/hot-*.json and $RESULTS/hot.md (a section
# of RESULTS.md).

HOT_ROUNDS=${HOT_ROUNDS:-5}
HOT_TESTS=${HOT_TESTS:-segment playlist}
HOT_SYSTEMS=${HOT_SYSTEMS:-ringside nginx varnish ringside-heap}
HOT_QUIET_S=${HOT_QUIET_S:-60}

declare -A HOT_PID HOT_BASE
HOT_SEG=

# hot_start_ringside NAME PORT FILE_MIN_BYTES: one node, edge and
# shield, pulling the event; ringside-heap (file_min_bytes 0) keeps its
# bodies on the Go heap and writes them with write(2), as before zero-copy
# serving: the same run then shows what sendfile changes.
hot_start_ringside() {
	local name=$1 port=$2 dir=$WORK/hot-$1
	mkdir -p "$dir"
	cat >"$dir/node.yaml" <<YAML
node: {id: "bench-$name", roles: [edge, shield]}
http: {listen: "127.0.0.1:$port", max_conns_per_ip: -1}
cache: {segment_ttl: 1h, file_min_bytes: $3}
events:
  - {id: "$EVENT", pull_url: "$ORIGIN_URL"}
log: {level: warn}
YAML
	start "hot-$name" "$HOT_RINGSIDE_BIN" node --config "$dir/node.yaml"
	HOT_PID[$name]=$LAST_PID
	HOT_BASE[$name]=http://127.0.0.1:$port/live/$EVENT/
}

hot_start() {
	local saved_pids=("${SYS_PIDS[@]}") saved_bases=("${BASES[@]}") sys
	for sys in $HOT_SYSTEMS; do
		SYS_PIDS=() BASES=()
		case $sys in
		ringside) hot_start_ringside ringside $((PORT_BASE + 10)) 65536 ;;
		ringside-heap) hot_start_ringside ringside-heap $((PORT_BASE + 11)) 0 ;;
		nginx) nginx_instance nginx $((PORT_BASE + 1)) "127.0.0.1:$ORIGIN_PORT" / auto ;;
		varnish) sys_varnish ;;
		esac
		if [[ $sys != ringside* ]]; then
			HOT_PID[$sys]=${SYS_PIDS[0]}
			HOT_BASE[$sys]=${BASES[0]}
		fi
	done
	SYS_PIDS=("${saved_pids[@]}")
	BASES=("${saved_bases[@]}")
}

hot_warm() {
	local base=${HOT_BASE[$1]}
	wait_http "${base}r0/index.m3u8" 20 || return 1
	curl -sf -o /dev/null --max-time 10 "${base}$HOT_SEG" || return 1
	curl -sf -o /dev/null --max-time 10 "${base}$HOT_SEG" || return 1
	log "hot: $1 serves $HOT_SEG ($(curl -sf -o /dev/null -w '%{size_download}' --max-time 10 "${base}$HOT_SEG") bytes)"
}

# busy_ticks: the machine's non-idle clock ticks so far, all cores.
busy_ticks() { awk '/^cpu /{t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6}' /proc/stat; }

hot_url() {
	local object=r0/index.m3u8
	[[ $2 == segment ]] && object=$HOT_SEG
	echo "${HOT_BASE[$1]}$object"
}

# hot_wrk SYS TEST ROUND: one bounded wrk run with the CPU around it.
hot_wrk() {
	local sys=$1 test=$2 round=$3 url out load s0 s1 m0 m1 json hz wrk_cpu
	url=$(hot_url "$sys" "$test")
	out=$WORK/hot-wrk-$sys-$test-$round.txt
	hz=$(getconf CLK_TCK)
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	s0=$(cpu_ticks "${HOT_PID[$sys]}")
	m0=$(busy_ticks)
	# times: the subshell's children (wrk) user and system seconds.
	wrk_cpu=$( (bounded $((WRK_DURATION_S + 30)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_DURATION_S}s" --timeout 5s \
		-s "$BENCH/wrk/json.lua" "$url" >"$out" 2>&1 || true
		times) | tail -1 | awk '{gsub(/[ms]/, " "); print $1 * 60 + $2 + $3 * 60 + $4}')
	m1=$(busy_ticks)
	s1=$(cpu_ticks "${HOT_PID[$sys]}")
	json=$(sed -n 's/^JSON //p' "$out" | tail -1)
	if [[ -z $json ]]; then
		note "hot $sys $test round $round: wrk gave no result: $(head -c 200 "$out")"
		return 0
	fi
	jq -cn --arg sys "$sys" --arg test "$test" --argjson round "$round" --arg url "$url" --arg load "$load" \
		--argjson server "$(awk -v d=$((s1 - s0)) -v hz="$hz" 'BEGIN {printf "%.2f", d / hz}')" \
		--argjson machine "$(awk -v d=$((m1 - m0)) -v hz="$hz" 'BEGIN {printf "%.2f", d / hz}')" \
		--argjson wrkcpu "${wrk_cpu:-0}" --argjson dur "$WRK_DURATION_S" --argjson wrk "$json" \
		'{system: $sys, test: $test, round: $round, url: $url, loadavg: $load, server_cpu_s: $server,
		  wrk_cpu_s: $wrkcpu, machine_busy_s: $machine,
		  other_cores: ((($machine - $server - $wrkcpu) / $wrk.duration_s) * 100 | round / 100), wrk: $wrk}' \
		>"$RESULTS/hot-$sys-$test-$round.json"
	log "hot round $round: $sys $test: $(sed -n 's/^Requests\/sec: *//p' "$out") req/s, server CPU $((s1 - s0)) ticks, load $load"
}

hot_rounds() {
	local round test sys order i n
	read -ra order <<<"$HOT_SYSTEMS"
	n=${#order[@]}
	for ((round = 1; round <= HOT_ROUNDS; round++)); do
		for test in $HOT_TESTS; do
			for ((i = 0; i < n; i++)); do
				hot_wrk "${order[(i + round - 1) % n]}" "$test" "$round"
			done
		done
	done
}

# hot_profile: Ringside's CPU profile during one extra segment run.
hot_profile() {
	local secs=$((WRK_DURATION_S > 2 ? WRK_DURATION_S - 1 : 1)) wpid
	start hot-bg-wrk timeout $((WRK_DURATION_S + 30)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_DURATION_S}s" "$(hot_url ringside segment)"
	wpid=$LAST_PID
	sleep 0.5
	if command -v perf >/dev/null && bounded $((secs + 20)) perf record -q -F 499 -g -o "$WORK/hot-perf.data" -p "${HOT_PID[ringside]}" -- sleep "$secs" >"$WORK/hot-perf.log" 2>&1; then
		perf report -i "$WORK/hot-perf.data" --no-children --sort sym --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -25 >"$RESULTS/hot-perf-ringside-segment.txt" || true
	fi
	wait "$wpid" 2>/dev/null || true
	forget "$wpid"
}

# hot_render: results/hot.md, medians over the rounds and the per-round
# ratios of Ringside to the best of nginx and Varnish.
hot_render() {
	local md=$RESULTS/hot.md
	jq -rs --arg date "$HOT_DATE" --arg uptime "$HOT_UPTIME" --arg idle "$HOT_IDLE" --arg versions "$HOT_VERSIONS" \
		--arg knobs "wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_DURATION_S}s, $HOT_ROUNDS rounds" '
		def median: sort | if length == 0 then null elif length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		def r0: . * 1 | round;
		def r2: . * 100 | round / 100;
		. as $all
		| ($all | map(.test) | unique) as $tests
		| "## Hot objects side by side: nginx, Varnish, Ringside (bench/run hot)\n",
		  "- Date: \($date); uptime before the rounds: `\($uptime)`; machine idle before: \($idle)%",
		  "- Versions: \($versions)",
		  "- Load: \($knobs); every round runs every test on every server, the order of the servers rotating; all three servers are up (and warm) for the whole run.",
		  "- `other work` is the machine'"'"'s busy time during the run less the server'"'"'s and wrk'"'"'s own CPU, in cores: another tenant'"'"'s load, and the kernel'"'"'s loopback work charged to no process. `load` is the 1-minute load average before the run.\n",
		  "| test | server | requests/s (median) | MB/s | requests/s by round | p99 ms | server CPU µs/response | wrk CPU s | other work, cores (median) | load by round | errors |",
		  "|---|---|---:|---:|---|---:|---:|---:|---:|---|---:|",
		  ($tests[] as $t | ($all | map(select(.test == $t)) | group_by(.system) | .[] |
		    (sort_by(.round)) as $runs |
		    "| \($t) | \($runs[0].system) | \($runs | map(.wrk.rps) | median | r0) | \($runs | map(.wrk.mb_per_s) | median | r0) | \($runs | map(.wrk.rps | r0 | tostring) | join(" / ")) | \($runs | map(.wrk.latency_p99_ms) | median | r2) | \($runs | map(if .wrk.requests > 0 then .server_cpu_s / .wrk.requests * 1e6 else 0 end) | median | r0) | \($runs | map(.wrk_cpu_s) | median | r2) | \($runs | map(.other_cores) | median | r2) | \($runs | map(.loadavg | split(" ")[0]) | join(" / ")) | \($runs | map(.wrk.errors_connect + .wrk.errors_read + .wrk.errors_write + .wrk.errors_status + .wrk.errors_timeout) | add) |")),
		  "",
		  "Ratios: each round'"'"'s Ringside requests/s over the best of nginx and Varnish in the same round; the median, lowest and highest round.\n",
		  ($tests[] as $t |
		    ($all | map(select(.test == $t)) | group_by(.round) | map(
		      (map(select(.system == "ringside")) | .[0].wrk.rps) as $r |
		      (map(select(.system == "nginx" or .system == "varnish") | .wrk.rps) | max) as $best |
		      (map(select(.system == "ringside-heap")) | .[0].wrk.rps) as $h |
		      (map(select(.system == "nginx")) | .[0].wrk.rps) as $n |
		      (map(select(.system == "varnish")) | .[0].wrk.rps) as $v |
		      {best: (if $r and $best then $r / $best else null end), nginx: (if $r and $n then $r / $n else null end), varnish: (if $r and $v then $r / $v else null end), heap: (if $r and $h then $r / $h else null end)})) as $ratios |
		    "- \($t): Ringside / best of nginx and Varnish = **\($ratios | map(.best) | map(select(. != null)) | median | r2)** (rounds \($ratios | map(.best) | map(select(. != null)) | min | r2) to \($ratios | map(.best) | map(select(. != null)) | max | r2)); / nginx \($ratios | map(.nginx) | map(select(. != null)) | median | r2), / Varnish \($ratios | map(.varnish) | map(select(. != null)) | median | r2); zero-copy / heap copy (ringside / ringside-heap) \($ratios | map(.heap) | map(select(. != null)) | median | r2)")
		' "$RESULTS"/hot-*-*-*.json >"$md"
	if [[ -s $RESULTS/hot-perf-ringside-segment.txt ]]; then
		{
			printf '\nRingside during one extra segment run (perf, by symbol, self time, top 25):\n\n```\n'
			cat "$RESULTS/hot-perf-ringside-segment.txt"
			printf '```\n'
		} >>"$md"
	fi
	log "hot: tables in $md"
}

hot_phase() {
	local sys
	rm -f "$RESULTS"/hot-* "$RESULTS"/hot.md
	command -v wrk >/dev/null && command -v jq >/dev/null || { note "hot rounds skipped: wrk or jq missing"; return 0; }
	HOT_RINGSIDE_BIN=${HOT_RINGSIDE_BIN:-$BIN/ringside}
	if [[ $HOT_RINGSIDE_BIN == "$BIN/ringside" ]]; then
		log "building the node from this tree into $BIN/ringside"
		(cd "$ROOT" && go build -o "$BIN/ringside" ./cmd/ringside) || { note "hot rounds skipped: the node did not build"; return 0; }
	fi
	HOT_SEG=$HOT_RENDITION/$(curl -sf --max-time 5 "${ORIGIN_URL}$HOT_RENDITION/index.m3u8" | grep -v '^#' | tail -1 || true)
	hot_start
	for sys in $HOT_SYSTEMS; do
		hot_warm "$sys" || { note "hot: $sys did not serve $HOT_SEG"; hot_stop; return 0; }
	done
	local deadline=$((SECONDS + HOT_QUIET_S))
	while ((SECONDS < deadline)) && (($(idle_pct) < 80)); do :; done
	HOT_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	HOT_UPTIME=$(uptime)
	HOT_IDLE=$(idle_pct)
	HOT_VERSIONS="ringside $(ringside_version_of "$HOT_RINGSIDE_BIN"), $(version go); $(version nginx); $(version varnishd); $(version wrk); $(nproc) cores, Linux $(uname -r)"
	hot_rounds
	hot_profile
	hot_render
	hot_stop
}

ringside_version_of() {
	local dirty=""
	[[ -n $(cd "$ROOT" && git status --porcelain --untracked-files=no 2>/dev/null) ]] && dirty=" (tree with uncommitted edits)"
	echo "built from $(cd "$ROOT" && git rev-parse --short=12 HEAD 2>/dev/null)$dirty"
}

hot_stop() {
	local sys pids=()
	for sys in "${!HOT_PID[@]}"; do pids+=("${HOT_PID[$sys]}"); done
	((${#pids[@]} == 0)) || stop "${pids[@]}"
	HOT_PID=()
}
