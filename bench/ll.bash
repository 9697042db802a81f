# bench/ll.bash: the LL-HLS rounds of bench/run, sourced by it (they use
# its helpers: start, stop, forget, bounded, render, tree, log, json_str,
# version, idle_pct, wait_http, is_root; and cpu_ticks, ringside_version
# from bench/https.bash).
#
# A low-latency origin (llorigin: 0.5-s parts of 2-s segments, blocking
# playlist reloads, delta updates, held hinted parts) serves a crowd of
# LL-HLS players (llcrowd: each player loops on a blocking reload for the
# next part and the hinted part) through each system in turn: the origin
# alone, nginx (bench/nginx/ll.conf.tmpl), Varnish (bench/varnish/ll.vcl),
# and Ringside meshes of 1 and 3 nodes (bench/run-mesh --low-latency).
# Then rounds park many players on one Ringside node (playlist reloads
# only). Around every run the system's CPU time and afterwards its
# peak RSS are read. Results: $RESULTS/ll-*, notes in $RESULTS/ll-notes.txt,
# so that `bench/run ll` reruns them alone without touching the others.

LL_PLAYERS=${LL_PLAYERS:-1000}
LL_JOIN_S=${LL_JOIN_S:-5}
LL_DURATION_S=${LL_DURATION_S:-30}
LL_RUNS=${LL_RUNS:-2}
LL_RENDITIONS=${LL_RENDITIONS:-r0,r1}
LL_HINT=${LL_HINT:-1}
LL_SKIP=${LL_SKIP:-1}
LL_MAX_REQUESTS=${LL_MAX_REQUESTS:-2000000}
# Players check every LL_VERIFY_EVERY-th part byte for byte, the others by
# header and length (1: every part in full).
LL_VERIFY_EVERY=${LL_VERIFY_EVERY:-16}
LL_PART_MS=${LL_PART_MS:-500}
LL_PARTS_PER_SEGMENT=${LL_PARTS_PER_SEGMENT:-4}
LL_PART_SIZES=${LL_PART_SIZES:-30000,60000}
LL_WINDOW=${LL_WINDOW:-12}
LL_SYSTEMS=${LL_SYSTEMS:-origin nginx varnish ringside-1 ringside-3}
# The many-parked rounds: players on one Ringside node, playlist reloads
# only (full playlists: no hinted part, no _HLS_skip), one rendition; one
# round per number ("": none). Each player holds a connection: the node
# and the generator each need that many descriptors, and a node takes
# three quarters of its descriptor limit in player connections.
LL_PARKED=${LL_PARKED:-1000 2000 5000 14000}
LL_PARKED_JOIN_S=${LL_PARKED_JOIN_S:-10}
LL_PARKED_DURATION_S=${LL_PARKED_DURATION_S:-40}
LL_NGINX_LOCK_TIMEOUT=${LL_NGINX_LOCK_TIMEOUT:-1500ms}
LL_NGINX_LOCK_AGE=${LL_NGINX_LOCK_AGE:-500ms}
LL_PORT_BASE=${LL_PORT_BASE:-$((PORT_BASE + 40))}
LL_QUIET_S=${LL_QUIET_S:-60}
# The node binary of the Ringside rounds: built from this tree by the
# rounds (a low-latency pull event needs a recent node) unless given.
LL_RINGSIDE_BIN=${LL_RINGSIDE_BIN:-}

LL_ORIGIN_PID=
LL_ORIGIN_URL=
LL_PIDS=()
LL_BASES=()
LL_METRICS=()
LL_RSS_SKIP=

ll_note() {
	log "NOTE: $*"
	printf '%s\n' "$*" >>"$RESULTS/ll-notes.txt"
}

ll_start_origin() {
	LL_ORIGIN_URL=http://127.0.0.1:$LL_PORT_BASE/
	start llorigin "$BIN/llorigin" -addr "127.0.0.1:$LL_PORT_BASE" -part "${LL_PART_MS}ms" \
		-parts-per-segment "$LL_PARTS_PER_SEGMENT" -part-sizes "$LL_PART_SIZES" -window "$LL_WINDOW"
	LL_ORIGIN_PID=$LAST_PID
	wait_http "${LL_ORIGIN_URL}master.m3u8" 10 || { ll_note "the LL origin simulator did not start: $(head -c 300 "$WORK/llorigin.log")"; return 1; }
}

ll_sys_nginx() {
	command -v nginx >/dev/null || return 2
	local dir=$WORK/ll-nginx user_line=""
	mkdir -p "$dir"/{client_body,proxy_temp,fastcgi_temp,uwsgi_temp,scgi_temp} "$CACHE_ROOT/ll-nginx"
	is_root && user_line="user root;"
	render "$BENCH/nginx/ll.conf.tmpl" "$dir/nginx.conf" NAME=ll-nginx PREFIX="$dir" \
		LISTEN="127.0.0.1:$((LL_PORT_BASE + 1))" UPSTREAM="127.0.0.1:$LL_PORT_BASE" UPSTREAM_PATH=/ WORKERS=auto \
		EVENT="$EVENT" CACHE_DIR="$CACHE_ROOT/ll-nginx" USER_LINE="$user_line" \
		LOCK_TIMEOUT="$LL_NGINX_LOCK_TIMEOUT" LOCK_AGE="$LL_NGINX_LOCK_AGE"
	start ll-nginx nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;'
	LL_PIDS=("$LAST_PID")
	LL_BASES=("http://127.0.0.1:$((LL_PORT_BASE + 1))/live/$EVENT/")
}

ll_sys_varnish() {
	command -v varnishd >/dev/null || return 2
	local dir=$WORK/ll-varnish jail=()
	mkdir -p "$dir"
	chmod 755 "$dir"
	if ! is_root || ! id vcache >/dev/null 2>&1; then jail=(-j none); fi
	render "$BENCH/varnish/ll.vcl" "$dir/ll.vcl" ORIGIN_HOST=127.0.0.1 ORIGIN_PORT="$LL_PORT_BASE" EVENT="$EVENT"
	start ll-varnish varnishd "${jail[@]}" -a "127.0.0.1:$((LL_PORT_BASE + 2))" -f "$dir/ll.vcl" \
		-s malloc,256m -n "$dir/n" -F
	LL_PIDS=("$LAST_PID")
	LL_BASES=("http://127.0.0.1:$((LL_PORT_BASE + 2))/live/$EVENT/")
}

# ll_sys_ringside N: an N-node mesh through run-mesh, the event low latency.
ll_sys_ringside() {
	local n=$1 port=$((LL_PORT_BASE + 10)) i log=$WORK/ll-ringside-$1.log
	if [[ ! -x $LL_RINGSIDE_BIN || ! -x $RUN_MESH ]]; then
		ll_note "ringside-$n skipped: $LL_RINGSIDE_BIN or $RUN_MESH is missing"
		return 3
	fi
	start "ll-ringside-$n" env RINGSIDE_BIN="$LL_RINGSIDE_BIN" "$RUN_MESH" --nodes "$n" --origin "$LL_ORIGIN_URL" \
		--event "$EVENT" --port "$port" --low-latency "${LL_PART_MS}ms" --max-conns-per-ip -1
	LL_PIDS=("$LAST_PID")
	LL_RSS_SKIP=$LAST_PID
	for ((i = 0; i < 600; i++)); do
		grep -qsE '^ready[[:space:]]*$' "$log" && break
		kill -0 "$LAST_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -qE '^ready[[:space:]]*$' "$log" || { ll_note "ringside-$n: run-mesh never printed ready: $(tail -c 300 "$log")"; return 1; }
	LL_BASES=() LL_METRICS=()
	for ((i = 0; i < n; i++)); do
		LL_BASES+=("http://127.0.0.1:$((port + i))/live/$EVENT/")
		LL_METRICS+=("http://127.0.0.1:$((port + i))/metrics")
	done
}

# ll_wait_quiet: wait up to LL_QUIET_S seconds for a second in which the
# machine is at least 80% idle.
ll_wait_quiet() {
	local deadline=$((SECONDS + LL_QUIET_S))
	while ((SECONDS < deadline)); do
		(($(idle_pct) >= 80)) && return 0
	done
	log "ll: the machine stayed busy for ${LL_QUIET_S}s; starting anyway"
}

# ll_crowd LABEL RUN PLAYERS JOIN_S DURATION_S EXTRA_ARGS...: one bounded
# crowd run with the system's and the origin's CPU time around it.
ll_crowd() {
	local label=$1 run=$2 players=$3 join=$4 dur=$5 idle load t0 o0 m0 t1 o1 m1 hz bases metrics args=()
	shift 5
	bases=$(IFS=,; echo "${LL_BASES[*]}")
	metrics=$(IFS=,; echo "${LL_METRICS[*]}")
	((LL_HINT)) || args+=(-hint=false)
	((LL_SKIP)) || args+=(-skip=false)
	ll_wait_quiet
	idle=$(idle_pct)
	load=$(cut -d' ' -f1-3 /proc/loadavg)
	log "ll: $label run $run: $players players over ${join}s, ${dur}s (machine ${idle}% idle)"
	t0=$(cpu_ticks "${LL_PIDS[@]}")
	o0=$(cpu_ticks "$LL_ORIGIN_PID")
	m0=$(machine_busy_ticks)
	bounded $((dur + 60)) "$BIN/llcrowd" -players "$players" -join "${join}s" -duration "${dur}s" \
		-max-requests "$LL_MAX_REQUESTS" -verify-every "$LL_VERIFY_EVERY" -renditions "$LL_RENDITIONS" -base "$bases" -metrics "$metrics" \
		-origin-stats "${LL_ORIGIN_URL}_stats" -label "$label" -run "$run" -seed "$run" "${args[@]}" "$@" \
		-out "$RESULTS/ll-crowd-$label-$run.json" 2>"$WORK/ll-crowd-$label-$run.log" ||
		ll_note "$label run $run: llcrowd failed (exit $?): $(tail -c 300 "$WORK/ll-crowd-$label-$run.log")"
	t1=$(cpu_ticks "${LL_PIDS[@]}")
	o1=$(cpu_ticks "$LL_ORIGIN_PID")
	m1=$(machine_busy_ticks)
	sed -n '1,4p' "$WORK/ll-crowd-$label-$run.log" >&2
	printf '{"system":"%s","run":%d,"cpu_s":%s,"origin_cpu_s":%s,"machine_cpu_s":%s,"duration_s":%d,"idle_pct_before":%d,"loadavg_before":%s' \
		"$label" "$run" "$(ticks_s $((t1 - t0)))" "$(ticks_s $((o1 - o0)))" "$(ticks_s $((m1 - m0)))" \
		"$dur" "$idle" "$(json_str "$load")" >"$RESULTS/ll-sys-$label-$run.json"
	ll_rss >>"$RESULTS/ll-sys-$label-$run.json"
}

# machine_busy_ticks: the machine's busy clock ticks so far, every process
# and the kernel (all of /proc/stat's cpu line but idle and iowait).
machine_busy_ticks() {
	awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6}' /proc/stat
}

# ticks_s TICKS: clock ticks in seconds.
ticks_s() { awk -v d="$1" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", d / hz}'; }

# ll_rss: the rest of an ll-sys JSON object: the system's processes and
# their summed VmHWM.
ll_rss() {
	local pid kb total=0 count=0
	for pid in $(tree "${LL_PIDS[@]}"); do
		[[ $pid == "${LL_RSS_SKIP:-}" ]] && continue
		kb=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status" 2>/dev/null || true)
		[[ -n $kb ]] || continue
		total=$((total + kb))
		count=$((count + 1))
	done
	printf ',"processes":%d,"vmhwm_kb":%d}\n' "$count" "$total"
}

ll_system() {
	local sys=$1 rc=0 base run
	LL_PIDS=() LL_BASES=() LL_METRICS=() LL_RSS_SKIP=
	case $sys in
	origin) LL_PIDS=("$LL_ORIGIN_PID") LL_BASES=("$LL_ORIGIN_URL") ;;
	nginx) ll_sys_nginx || rc=$? ;;
	varnish) ll_sys_varnish || rc=$? ;;
	ringside-*) ll_sys_ringside "${sys#ringside-}" || rc=$? ;;
	*) ll_note "unknown system $sys skipped"; return 0 ;;
	esac
	case $rc in
	0) ;;
	2) ll_note "$sys skipped: its server is not installed"; return 0 ;;
	3) return 0 ;;
	*) ll_note "$sys failed to start"; ll_stop_system "$sys"; return 0 ;;
	esac
	for base in "${LL_BASES[@]}"; do
		if ! wait_http "${base}r0/index.m3u8" 20; then
			ll_note "$sys: ${base} never served a playlist"
			ll_stop_system "$sys"
			return 0
		fi
	done
	for ((run = 1; run <= LL_RUNS; run++)); do
		ll_crowd "$sys" "$run" "$LL_PLAYERS" "$LL_JOIN_S" "$LL_DURATION_S"
	done
	if [[ $sys == ringside-1 ]]; then
		local n
		for n in $LL_PARKED; do
			# One node, many parked players: playlist reloads only, one rendition.
			ll_crowd "ringside-1-parked-$n" 1 "$n" "$LL_PARKED_JOIN_S" "$LL_PARKED_DURATION_S" \
				-hint=false -skip=false -renditions "${LL_RENDITIONS%%,*}" -timeout 15s
		done
	fi
	ll_stop_system "$sys"
}

ll_stop_system() {
	[[ $1 == origin ]] && return 0 # the origin serves every system
	if ((${#LL_PIDS[@]})); then stop "${LL_PIDS[@]}"; fi
	LL_PIDS=()
}

ll_write_meta() {
	local k first=1
	{
		printf '{\n  "date": %s,\n' "$(json_str "$LL_DATE")"
		printf '  "nproc": %s,\n  "cpu_model": %s,\n' "$(nproc)" "$(json_str "$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)")"
		printf '  "memory": %s,\n' "$(json_str "$(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)")"
		printf '  "kernel": %s,\n' "$(json_str "$(uname -r)")"
		printf '  "loadavg_at_start": %s,\n  "idle_pct_at_start": %d,\n' "$(json_str "$LL_LOADAVG")" "$LL_IDLE"
		printf '  "nofile": %s,\n' "$(json_str "$(ulimit -n) (hard $(ulimit -Hn))")"
		printf '  "ringside": %s,\n' "$(json_str "$(ll_ringside_version)")"
		printf '  "go": %s,\n  "nginx": %s,\n  "varnish": %s,\n' "$(json_str "$(version go)")" \
			"$(json_str "$(version nginx)")" "$(json_str "$(version varnishd)")"
		printf '  "systems": %s,\n' "$(json_str "$LL_SYSTEMS")"
		printf '  "knobs": {'
		for k in LL_PLAYERS LL_JOIN_S LL_DURATION_S LL_RUNS LL_RENDITIONS LL_HINT LL_SKIP LL_VERIFY_EVERY LL_PART_MS \
			LL_PARTS_PER_SEGMENT LL_PART_SIZES LL_WINDOW LL_PARKED LL_PARKED_JOIN_S LL_PARKED_DURATION_S \
			LL_NGINX_LOCK_TIMEOUT LL_NGINX_LOCK_AGE; do
			((first)) || printf ','
			first=0
			printf '\n    "%s": %s' "$k" "$(json_str "${!k}")"
		done
		printf '\n  }\n}\n'
	} >"$RESULTS/ll-meta.json"
}

# ll_ringside_version: the node binary's version and the commit it was
# built from (go version -m prints "build vcs.revision=...").
ll_ringside_version() {
	local v rev
	v=$("$LL_RINGSIDE_BIN" version 2>/dev/null | head -1)
	rev=$(go version -m "$LL_RINGSIDE_BIN" 2>/dev/null | awk '
		{ for (i = 1; i <= NF; i++) {
			if ($i ~ /^vcs\.revision=/) r = substr($i, 14, 12)
			if ($i == "vcs.modified=true") m = ", modified tree"
		} }
		END { if (r != "") print "commit " r m }')
	echo "${v:-ringside}${rev:+ ($rev)}"
}

# ll_build_ringside: the node binary from this tree, with its commit.
ll_build_ringside() {
	[[ -n $LL_RINGSIDE_BIN ]] && return 0
	LL_RINGSIDE_BIN=$BIN/ringside
	log "ll: building $LL_RINGSIDE_BIN"
	if ! (cd "$ROOT" && go build -buildvcs=auto -o "$LL_RINGSIDE_BIN" ./cmd/ringside) >"$WORK/ll-build.log" 2>&1; then
		ll_note "could not build ringside from this tree ($(head -c 300 "$WORK/ll-build.log")); using $RINGSIDE_BIN"
		LL_RINGSIDE_BIN=$RINGSIDE_BIN
	fi
}

# ll_phase: every LL round; starts and stops its own origin.
ll_phase() {
	local sys
	rm -f "$RESULTS"/ll-*
	ll_build_ringside
	ll_start_origin || return 0
	log "ll: LL origin simulator up at $LL_ORIGIN_URL (descriptors: $(ulimit -n), hard $(ulimit -Hn))"
	local n
	for n in $LL_PARKED; do
		if ((n * 4 / 3 + 64 > $(ulimit -n))); then
			ll_note "a many-parked round asks for $n players, but a process here may open $(ulimit -n) descriptors (hard limit $(ulimit -Hn)): the node takes three quarters of that in player connections ($(($(ulimit -n) * 3 / 4)))"
		fi
	done
	ll_wait_quiet
	LL_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	LL_LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
	LL_IDLE=$(idle_pct)
	((LL_IDLE >= 80)) || ll_note "the machine was only ${LL_IDLE}% idle before the LL rounds (load $LL_LOADAVG)"
	for sys in $LL_SYSTEMS; do
		ll_system "$sys"
	done
	ll_write_meta
	stop "$LL_ORIGIN_PID"
}
