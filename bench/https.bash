# bench/https.bash: the HTTPS rounds of bench/run, sourced by it (they use
# its helpers: start, stop, forget, bounded, render, tree, log,
# json_str, version, idle_pct, nginx_instance, wait_http).
#
# One Ringside node and one nginx serve the same hot objects over HTTPS,
# with the same certificate files (ECDSA P-256, made for the run) and the
# same suite (TLS 1.3, TLS_AES_128_GCM_SHA256); a second nginx with kernel
# TLS joins them when the kernel has the tls module. wrk measures every
# test on every server in turn, round after round (the order of the
# servers alternates), so that the machine's noise falls on all of them:
#
#   segment-http          the 1 MB segment, plain HTTP, keep-alive (baseline)
#   segment-https         the 1 MB segment, HTTPS, keep-alive: bulk TLS
#                         record encryption, no handshakes after the first
#   playlist-http         the playlist, plain HTTP, keep-alive
#   playlist-https        the playlist, HTTPS, keep-alive
#   playlist-https-close  the playlist, HTTPS, "Connection: close": a TCP
#                         connection and a TLS handshake per request (wrk
#                         resumes its sessions: PSK with X25519, no
#                         certificate signature)
#
# The server's CPU time (utime+stime of its processes) is read around
# every round. Extra rounds, not counted, profile the servers: Ringside
# with its own /debug/pprof/profile (segment-https), both with perf (when
# installed) by shared object (segment-https, playlist-https-close).
# Results: $RESULTS/https-*, notes in $RESULTS/https-notes.txt, so that the
# HTTPS rounds can be rerun alone (bench/run https) without touching the
# other results.

HTTPS_ROUNDS=${HTTPS_ROUNDS:-3}
HTTPS_TESTS=${HTTPS_TESTS:-segment-http segment-https playlist-http playlist-https playlist-https-close}
HTTPS_KTLS=${HTTPS_KTLS:-auto}
HTTPS_PROFILE=${HTTPS_PROFILE:-1}
HTTPS_PORT_BASE=${HTTPS_PORT_BASE:-$((PORT_BASE + 20))}
HTTPS_QUIET_S=${HTTPS_QUIET_S:-60}

declare -A HTTPS_PID HTTPS_HTTP HTTPS_TLS
HTTPS_SYSTEMS=()
HTTPS_DIR=
HTTPS_SEG=
HTTPS_TOKEN=

https_note() {
	log "NOTE: $*"
	printf '%s\n' "$*" >>"$RESULTS/https-notes.txt"
}

# https_cert: one ECDSA P-256 certificate for 127.0.0.1, self-signed,
# for every server of the run.
https_cert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 365 \
		-keyout "$HTTPS_DIR/key.pem" -out "$HTTPS_DIR/cert.pem" -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1,DNS:localhost >"$HTTPS_DIR/openssl.log" 2>&1
	chmod 644 "$HTTPS_DIR/key.pem" # nginx's workers and the node read it; a throwaway key
}

# https_ktls_kernel: whether the kernel offers the tls ULP (loading the
# module first when root and modprobe is there).
https_ktls_kernel() {
	local ulp=/proc/sys/net/ipv4/tcp_available_ulp
	if ! grep -qw tls "$ulp" 2>/dev/null && is_root && command -v modprobe >/dev/null; then
		modprobe tls 2>/dev/null || true
	fi
	grep -qw tls "$ulp" 2>/dev/null
}

# https_ktls_openssl: whether OpenSSL was built with kTLS (s_server offers
# -sendfile only then).
https_ktls_openssl() { openssl s_server -help 2>&1 | grep -q -- '-sendfile'; }

# tls_tx_sw: sockets the kernel has encrypted for so far (0 without the module).
tls_tx_sw() { awk '$1 == "TlsTxSw" {print $2; f = 1} END {if (!f) print 0}' /proc/net/tls_stat 2>/dev/null || echo 0; }

https_start_ringside() {
	local hp=$HTTPS_PORT_BASE tp=$((HTTPS_PORT_BASE + 1))
	cat >"$HTTPS_DIR/node.yaml" <<YAML
node: {id: "bench-https", roles: [edge, shield]}
http:
  listen: "127.0.0.1:$hp"
  tls_listen: "127.0.0.1:$tp"
  tls: [{cert: "$HTTPS_DIR/cert.pem", key: "$HTTPS_DIR/key.pem"}]
cache: {segment_ttl: 1h}
admin: {token: "$HTTPS_TOKEN"}
events:
  - {id: "$EVENT", pull_url: "$ORIGIN_URL"}
log: {level: warn}
YAML
	start https-ringside "$RINGSIDE_BIN" node --config "$HTTPS_DIR/node.yaml"
	HTTPS_PID[ringside]=$LAST_PID
	HTTPS_HTTP[ringside]=$hp
	HTTPS_TLS[ringside]=$tp
}

# https_start_nginx NAME OFFSET KTLS: nginx with live.conf.tmpl's cache
# rules and tls.conf.tmpl's TLS settings.
https_start_nginx() {
	local name=$1 hp=$((HTTPS_PORT_BASE + $2)) tp=$((HTTPS_PORT_BASE + $2 + 1)) ktls="# no kernel TLS"
	local saved_pids=("${SYS_PIDS[@]}") saved_bases=("${BASES[@]}")
	[[ $3 == 1 ]] && ktls="ssl_conf_command Options KTLS;"
	mkdir -p "$WORK/$name"
	render "$BENCH/nginx/tls.conf.tmpl" "$WORK/$name/tls.conf" TLS_LISTEN="127.0.0.1:$tp" \
		CERT="$HTTPS_DIR/cert.pem" KEY="$HTTPS_DIR/key.pem" KTLS_LINE="$ktls"
	SYS_PIDS=()
	nginx_instance "$name" "$hp" "127.0.0.1:$ORIGIN_PORT" / auto "include $WORK/$name/tls.conf;"
	HTTPS_PID[$name]=${SYS_PIDS[0]}
	HTTPS_HTTP[$name]=$hp
	HTTPS_TLS[$name]=$tp
	SYS_PIDS=("${saved_pids[@]}")
	BASES=("${saved_bases[@]}")
}

# https_warm SYS: wait for both listeners, then fetch the hot objects
# twice over HTTPS (checking the certificate) so that wrk measures hits.
https_warm() {
	local base=https://127.0.0.1:${HTTPS_TLS[$1]}/live/$EVENT/ size
	wait_http "http://127.0.0.1:${HTTPS_HTTP[$1]}/live/$EVENT/r0/index.m3u8" 20 || return 1
	curl -sf -o /dev/null --max-time 10 --cacert "$HTTPS_DIR/cert.pem" "${base}r0/index.m3u8" || return 1
	curl -sf -o /dev/null --max-time 10 --cacert "$HTTPS_DIR/cert.pem" "${base}$HTTPS_SEG" || return 1
	size=$(curl -sf -o /dev/null -w '%{size_download}' --max-time 10 --cacert "$HTTPS_DIR/cert.pem" "${base}$HTTPS_SEG") || return 1
	log "https: $1 serves $HTTPS_SEG ($size bytes) over HTTPS"
}

# https_negotiated SYS: what OpenSSL's default client offer (wrk's: wrk
# sets no suites) gets from the server: protocol, suite, key exchange.
https_negotiated() {
	timeout 10 openssl s_client -connect "127.0.0.1:${HTTPS_TLS[$1]}" -brief </dev/null 2>&1 |
		awk -F': *' '/^Protocol version/ {p = $2} /^Ciphersuite/ {c = $2} /^Server Temp Key/ {k = $2} /^Signature type/ {s = $2}
			END {printf "%s %s, key exchange %s, certificate signature %s", p, c, k, s}'
}

# cpu_ticks PIDS...: user+system clock ticks of the PIDs and their descendants.
cpu_ticks() {
	local p t total=0
	for p in $(tree "$@"); do
		t=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) || continue
		total=$((total + ${t:-0}))
	done
	echo "$total"
}

# https_url SYS TEST: the URL a test fetches from a server.
https_url() {
	local scheme=https port=${HTTPS_TLS[$1]} object=r0/index.m3u8
	[[ $2 == *-http ]] && scheme=http port=${HTTPS_HTTP[$1]}
	[[ $2 == segment-* ]] && object=$HTTPS_SEG
	echo "$scheme://127.0.0.1:$port/live/$EVENT/$object"
}

# https_wrk SYS TEST ROUND: one bounded wrk run, with the server's CPU time.
https_wrk() {
	local sys=$1 test=$2 round=$3 url out hdr=() t0 t1 json cpu
	url=$(https_url "$sys" "$test")
	out=$HTTPS_DIR/wrk-$sys-$test-$round.txt
	[[ $test == *-close ]] && hdr=(-H 'Connection: close')
	t0=$(cpu_ticks "${HTTPS_PID[$sys]}")
	bounded $((WRK_DURATION_S + 30)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_DURATION_S}s" --timeout 5s \
		"${hdr[@]}" -s "$BENCH/wrk/json.lua" "$url" >"$out" 2>&1 || true
	t1=$(cpu_ticks "${HTTPS_PID[$sys]}")
	json=$(sed -n 's/^JSON //p' "$out" | tail -1)
	if [[ -z $json ]]; then
		https_note "$sys $test round $round: wrk gave no result: $(head -c 200 "$out")"
		return 0
	fi
	cpu=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", d / hz}')
	printf '{"system":"%s","test":"%s","round":%d,"url":"%s","server_cpu_s":%s,"wrk":%s}\n' \
		"$sys" "$test" "$round" "$url" "$cpu" "$json" >"$RESULTS/https-wrk-$sys-$test-$round.json"
	log "https round $round: $sys $test: $(sed -n 's/^Requests\/sec: *//p' "$out") requests/s, server CPU ${cpu}s"
}

# https_rounds: every test on every server, round after round; odd rounds
# in the listed order, even rounds reversed.
https_rounds() {
	local round test sys order i
	for ((round = 1; round <= HTTPS_ROUNDS; round++)); do
		order=("${HTTPS_SYSTEMS[@]}")
		if ((round % 2 == 0)); then
			order=()
			for ((i = ${#HTTPS_SYSTEMS[@]} - 1; i >= 0; i--)); do order+=("${HTTPS_SYSTEMS[i]}"); done
		fi
		for test in $HTTPS_TESTS; do
			for sys in "${order[@]}"; do https_wrk "$sys" "$test" "$round"; done
		done
	done
}

# https_bg_wrk SYS TEST: a bounded wrk run of TEST in the background, not
# recorded, for a profiler to watch; sets LAST_PID.
https_bg_wrk() {
	local hdr=()
	[[ $2 == *-close ]] && hdr=(-H 'Connection: close')
	start "https-bg-wrk-$1-$2" timeout $((WRK_DURATION_S + 30)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${WRK_DURATION_S}s" \
		--timeout 5s "${hdr[@]}" "$(https_url "$1" "$2")"
}

# https_profile: extra rounds, not counted: Ringside's CPU profile from its
# pprof endpoint during segment-https, then perf on each server by shared
# object during segment-https and playlist-https-close, when perf is
# installed and allowed.
https_profile() {
	local secs=$((WRK_DURATION_S > 2 ? WRK_DURATION_S - 1 : 1)) sys test wpid pids
	log "https: CPU profile of ringside during a segment-https round (${secs}s)"
	https_bg_wrk ringside segment-https
	wpid=$LAST_PID
	sleep 0.5
	if curl -sf --max-time $((secs + 20)) -H "Authorization: Bearer $HTTPS_TOKEN" -o "$RESULTS/https-ringside-segment.pprof" \
		"http://127.0.0.1:${HTTPS_HTTP[ringside]}/debug/pprof/profile?seconds=$secs"; then
		go tool pprof -top -nodecount=1000 -nodefraction=0 "$RESULTS/https-ringside-segment.pprof" \
			>"$RESULTS/https-pprof-ringside.txt" 2>/dev/null || https_note "go tool pprof failed"
	else
		https_note "ringside's CPU profile could not be fetched"
	fi
	wait "$wpid" 2>/dev/null || true
	forget "$wpid"
	if ! command -v perf >/dev/null; then
		https_note "perf is not installed: no per-library split of the servers' CPU (apt-get install linux-perf)"
		return 0
	fi
	for test in segment-https playlist-https-close; do
		for sys in "${HTTPS_SYSTEMS[@]}"; do
			pids=$(tree "${HTTPS_PID[$sys]}" | paste -sd, -)
			log "https: perf on $sys during a $test round (${secs}s)"
			https_bg_wrk "$sys" "$test"
			wpid=$LAST_PID
			sleep 0.5
			if bounded $((secs + 20)) perf record -q -F 499 -o "$HTTPS_DIR/perf.data" -p "$pids" -- sleep "$secs" >"$HTTPS_DIR/perf.log" 2>&1; then
				perf report -i "$HTTPS_DIR/perf.data" --sort dso --stdio 2>/dev/null >"$RESULTS/https-perf-$sys-$test.txt" ||
					https_note "perf report failed for $sys $test"
			else
				https_note "perf record failed for $sys $test: $(head -c 200 "$HTTPS_DIR/perf.log")"
			fi
			wait "$wpid" 2>/dev/null || true
			forget "$wpid"
		done
	done
}

# https_cipher_speed: one core's AES-128-GCM sealing of 16 KB records, Go's
# (bench/tlsseal) and OpenSSL's, in MB/s: the best of three runs of each,
# taken in turn, since other work on the machine only ever slows them.
# Five rounds: on a shared machine the best of three was still noisy.
https_cipher_speed() {
	local i g o
	HTTPS_GO_SEAL=0 HTTPS_OPENSSL_SEAL=0
	(cd "$ROOT" && timeout 120 go test -c -o "$HTTPS_DIR/tlsseal.test" ./bench/tlsseal) || { https_note "bench/tlsseal did not build"; return 0; }
	for i in 1 2 3 4 5; do
		g=$(timeout 60 "$HTTPS_DIR/tlsseal.test" -test.run '^$' -test.bench SealRecord -test.cpu 1 -test.benchtime 1s 2>/dev/null |
			awk '/^BenchmarkSealRecord/ {for (i = 1; i < NF; i++) if ($(i + 1) == "MB/s") printf "%.0f", $i}')
		o=$(timeout 60 openssl speed -seconds 1 -bytes 16384 -evp aes-128-gcm 2>/dev/null |
			awk '$1 == "AES-128-GCM" {sub(/k$/, "", $2); printf "%.0f", $2 / 1000}')
		if ((${g:-0} > HTTPS_GO_SEAL)); then HTTPS_GO_SEAL=$g; fi
		if ((${o:-0} > HTTPS_OPENSSL_SEAL)); then HTTPS_OPENSSL_SEAL=$o; fi
	done
	log "https: AES-128-GCM seal of 16 KB records on one core, best of 5: Go $HTTPS_GO_SEAL MB/s, OpenSSL $HTTPS_OPENSSL_SEAL MB/s"
}

# ringside_version: `ringside version`, and the commit it was built from
# when the build recorded one.
ringside_version() {
	local v rev
	v=$("$RINGSIDE_BIN" version 2>/dev/null | head -1)
	rev=$(go version -m "$RINGSIDE_BIN" 2>/dev/null | awk '$2 == "vcs.revision" {r = substr($3, 1, 12)}
		$2 == "vcs.modified" && $3 == "true" {m = ", modified"} END {if (r != "") print "commit " r m}')
	echo "${v:-ringside}${rev:+ ($rev)}"
}

https_write_meta() {
	local ktls_kernel=$1 ktls_openssl=$2 sys first=1 k
	{
		printf '{\n  "date": %s,\n' "$(json_str "$HTTPS_DATE")"
		printf '  "nproc": %s,\n  "cpu_model": %s,\n' "$(nproc)" "$(json_str "$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)")"
		printf '  "kernel": %s,\n' "$(json_str "$(uname -r)")"
		printf '  "loadavg_at_start": %s,\n  "idle_pct_at_start": %d,\n' "$(json_str "$HTTPS_LOADAVG")" "$HTTPS_IDLE"
		printf '  "ringside": %s,\n' "$(json_str "$(ringside_version)")"
		printf '  "go": %s,\n  "nginx": %s,\n  "wrk": %s,\n' "$(json_str "$(version go)")" "$(json_str "$(version nginx)")" "$(json_str "$(version wrk)")"
		printf '  "openssl": %s,\n' "$(json_str "$(openssl version)")"
		printf '  "nginx_openssl": %s,\n' "$(json_str "$(nginx -V 2>&1 | sed -n 's/^built with //p')")"
		printf '  "certificate": %s,\n' "$(json_str "$(openssl x509 -in "$HTTPS_DIR/cert.pem" -noout -text |
			awk '/Public Key Algorithm/ {a = $NF} /ASN1 OID/ {c = $NF} /Signature Algorithm/ {s = $NF} END {print a " " c ", signed " s}')")"
		printf '  "tcp_available_ulp": %s,\n' "$(json_str "$(cat /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null)")"
		printf '  "ktls_kernel": %s,\n  "ktls_openssl": %s,\n' "$ktls_kernel" "$ktls_openssl"
		printf '  "ktls_tx_sockets": %d,\n' "$HTTPS_KTLS_SOCKETS"
		printf '  "aes_gcm_go_mb_s": %d,\n  "aes_gcm_openssl_mb_s": %d,\n' "${HTTPS_GO_SEAL:-0}" "${HTTPS_OPENSSL_SEAL:-0}"
		printf '  "segment": %s,\n' "$(json_str "$HTTPS_SEG")"
		printf '  "systems": %s,\n  "tests": %s,\n  "rounds": %d,\n' "$(json_str "${HTTPS_SYSTEMS[*]}")" "$(json_str "$HTTPS_TESTS")" "$HTTPS_ROUNDS"
		printf '  "negotiated": {'
		for sys in "${HTTPS_SYSTEMS[@]}"; do
			((first)) || printf ','
			first=0
			printf '\n    "%s": %s' "$sys" "$(json_str "${HTTPS_NEGOTIATED[$sys]}")"
		done
		printf '\n  },\n  "knobs": {'
		first=1
		for k in WRK_DURATION_S WRK_THREADS WRK_CONNS HOT_RENDITION HTTPS_ROUNDS HTTPS_KTLS; do
			((first)) || printf ','
			first=0
			printf '\n    "%s": %s' "$k" "$(json_str "${!k}")"
		done
		printf '\n  }\n}\n'
	} >"$RESULTS/https-meta.json"
}

# https_wait_quiet: wait up to HTTPS_QUIET_S seconds for a second in which
# the machine is at least 80% idle, so that the rounds do not start in the
# middle of someone else's burst.
https_wait_quiet() {
	local deadline=$((SECONDS + HTTPS_QUIET_S))
	while ((SECONDS < deadline)); do
		(($(idle_pct) >= 80)) && return 0
	done
	log "https: the machine stayed busy for ${HTTPS_QUIET_S}s; starting anyway"
}

# https_phase: the whole HTTPS comparison; needs the origin up.
https_phase() {
	local missing=() sys ktls_kernel=false ktls_openssl=false tx0
	declare -gA HTTPS_NEGOTIATED=()
	HTTPS_KTLS_SOCKETS=0
	rm -f "$RESULTS"/https-*
	command -v nginx >/dev/null || missing+=(nginx)
	command -v wrk >/dev/null || missing+=(wrk)
	command -v openssl >/dev/null || missing+=(openssl)
	[[ -x $RINGSIDE_BIN ]] || missing+=("$RINGSIDE_BIN")
	if ((${#missing[@]})); then
		https_note "skipped, missing ${missing[*]}"
		return 0
	fi
	HTTPS_DIR=$WORK/https
	mkdir -p "$HTTPS_DIR"
	HTTPS_TOKEN="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	https_cert || { https_note "openssl could not make the certificate: $(head -c 200 "$HTTPS_DIR/openssl.log")"; return 0; }
	https_ktls_kernel && ktls_kernel=true
	https_ktls_openssl && ktls_openssl=true
	HTTPS_SEG=$HOT_RENDITION/$(curl -sf --max-time 5 "${ORIGIN_URL}$HOT_RENDITION/index.m3u8" | grep -v '^#' | tail -1 || true)
	[[ $HTTPS_SEG != */ ]] || { https_note "skipped, no $HOT_RENDITION playlist at the origin"; return 0; }
	HTTPS_SYSTEMS=(ringside nginx)
	case $HTTPS_KTLS in
	1) HTTPS_SYSTEMS+=(nginx-ktls) ;;
	auto) if $ktls_kernel && $ktls_openssl; then HTTPS_SYSTEMS+=(nginx-ktls); fi ;;
	esac
	if ! $ktls_kernel; then
		https_note "no kernel TLS here: the kernel offers no tls ULP (tcp_available_ulp: $(cat /proc/sys/net/ipv4/tcp_available_ulp 2>/dev/null)), so nginx runs with TLS in user space only"
	fi
	https_start_ringside
	https_start_nginx nginx 2 0
	[[ " ${HTTPS_SYSTEMS[*]} " == *" nginx-ktls "* ]] && https_start_nginx nginx-ktls 4 1
	for sys in "${HTTPS_SYSTEMS[@]}"; do
		if ! https_warm "$sys"; then
			https_note "skipped, $sys did not serve $HTTPS_SEG over HTTPS"
			https_stop
			return 0
		fi
		HTTPS_NEGOTIATED[$sys]=$(https_negotiated "$sys")
		log "https: $sys negotiated ${HTTPS_NEGOTIATED[$sys]}"
	done
	https_wait_quiet
	HTTPS_DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	HTTPS_LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
	HTTPS_IDLE=$(idle_pct)
	((HTTPS_IDLE >= 80)) || https_note "the machine was only ${HTTPS_IDLE}% idle before the HTTPS rounds"
	tx0=$(tls_tx_sw)
	log "https: ${HTTPS_ROUNDS} rounds of ${HTTPS_TESTS// /, } on ${HTTPS_SYSTEMS[*]} (wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_DURATION_S}s each)"
	https_rounds
	HTTPS_KTLS_SOCKETS=$(($(tls_tx_sw) - tx0))
	if [[ " ${HTTPS_SYSTEMS[*]} " == *" nginx-ktls "* ]] && ((HTTPS_KTLS_SOCKETS == 0)); then
		https_note "nginx-ktls ran, but the kernel encrypted for no socket (TlsTxSw did not grow): OpenSSL stayed in user space"
	fi
	if ((HTTPS_PROFILE)); then https_profile; fi
	https_cipher_speed
	https_write_meta "$ktls_kernel" "$ktls_openssl"
	https_stop
}

https_stop() {
	local sys pids=()
	for sys in "${!HTTPS_PID[@]}"; do pids+=("${HTTPS_PID[$sys]}"); done
	((${#pids[@]} == 0)) || stop "${pids[@]}"
	HTTPS_PID=()
}
