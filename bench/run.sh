#!/usr/bin/env bash
# bench/run.sh — tokend's authenticated read against a bare net/http handler
# that answers the same bytes, measured with wrk in one interleaved run.
#
#   bench/run.sh [PATH]          PATH defaults to /v1/user (try /v1/auth/check)
#
# Environment: ROUNDS (3), DURATION (10s), CONNS ("16 1"), THREADS (2),
# KEEP=1 keeps the work directory, PROFILE=1 adds a 16-connection run
# with tokend's profiler on (--pprof-addr) and prints the top of its CPU
# profile, cumulative. Needs go, wrk, curl. Every figure is a
# ratio against the bare handler measured in the same round, because on a
# shared machine absolute numbers move from minute to minute.
set -euo pipefail

path=${1:-/v1/user}
rounds=${ROUNDS:-3}
duration=${DURATION:-10s}
conns=${CONNS:-"16 1"}
threads=${THREADS:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [[ ${KEEP:-} == 1 ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

for tool in go wrk curl; do
	command -v "$tool" >/dev/null || { echo "bench/run.sh: $tool is not installed" >&2; exit 2; }
done

echo "building tokend and bench/bare ..." >&2
(cd "$root" && go build -trimpath -o "$work/tokend" ./cmd/tokend && go build -trimpath -o "$work/bare" ./bench/bare)

# A user and a token on a fresh database. The password and the token travel
# through files only: never through argv, where ps would show them.
db=$work/tokend.db
head -c 18 /dev/urandom | base64 | tr -d '/+=' >"$work/password"
"$work/tokend" --database "$db" user add bench <"$work/password" >/dev/null
pprof=()
if [[ ${PROFILE:-} == 1 ]]; then pprof=(--pprof-addr 127.0.0.1:0); fi
"$work/tokend" serve --database "$db" --addr 127.0.0.1:0 --addr-file "$work/tokend.url" "${pprof[@]}" 2>"$work/tokend.log" &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/tokend.url ]] && break; sleep 0.1; done
tokend_url=$(cat "$work/tokend.url")
printf 'Authorization: Basic %s\n' "$(printf 'bench:%s' "$(cat "$work/password")" | base64 -w0)" >"$work/basic.hdr"
curl -sf -H @"$work/basic.hdr" -H 'Content-Type: application/json' \
	-d '{"name":"bench","expires_in_seconds":86400}' "$tokend_url/v1/tokens" >"$work/created.json"
sed -E 's/.*"token":"([^"]+)".*/\1/' "$work/created.json" >"$work/token"
printf 'Authorization: Bearer %s\n' "$(cat "$work/token")" >"$work/bearer.hdr"

# The bare handler answers exactly the body tokend answers on PATH.
curl -sf -H @"$work/bearer.hdr" -o "$work/body" "$tokend_url$path" ||
	{ echo "bench/run.sh: GET $path on tokend failed" >&2; exit 1; }
"$work/bare" --body "$work/body" --addr-file "$work/bare.url" &
pids+=($!)
for _ in $(seq 100); do [[ -s $work/bare.url ]] && break; sleep 0.1; done
bare_url=$(cat "$work/bare.url")

# wrk reads the header from the file named in $BENCH_AUTH_FILE.
cat >"$work/auth.lua" <<'LUA'
local f = assert(io.open(os.getenv("BENCH_AUTH_FILE")))
wrk.headers["Authorization"] = f:read("*l")
f:close()
LUA
sed -E 's/^Authorization: //' "$work/bearer.hdr" >"$work/auth.value"
export BENCH_AUTH_FILE=$work/auth.value

# run NAME URL CONNS: one wrk run, printed as "rps p50 p99" (ms).
run() {
	local out
	out=$(wrk -t "$(( $3 < threads ? $3 : threads ))" -c "$3" -d "$duration" --latency -s "$work/auth.lua" "$2$path")
	local rps p50 p99
	rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
	p50=$(awk '$1=="50%" {print $2}' <<<"$out")
	p99=$(awk '$1=="99%" {print $2}' <<<"$out")
	if grep -q 'Non-2xx' <<<"$out"; then echo "bench/run.sh: $1 answered non-2xx:" >&2; echo "$out" >&2; exit 1; fi
	echo "$rps $(ms "$p50") $(ms "$p99")"
}
# ms converts wrk's latency ("812.00us", "1.20ms", "2.01s") to milliseconds.
ms() {
	awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

echo "GET $path, $rounds rounds of $duration per server and connection count, interleaved" >&2
echo "machine: $(nproc) cores, $(uname -sr), $(go version | awk '{print $3}'), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %-5s %12s %9s %9s %12s %9s %9s %7s %12s\n' conns round bare_rps p50_ms p99_ms tokend_rps p50_ms p99_ms ratio p99_delta_ms
for c in $conns; do
	for r in $(seq "$rounds"); do
		# Alternate which goes first, so a drift in machine load hits both.
		if (( r % 2 )); then b=$(run bare "$bare_url" "$c"); t=$(run tokend "$tokend_url" "$c")
		else t=$(run tokend "$tokend_url" "$c"); b=$(run bare "$bare_url" "$c"); fi
		read -r brps bp50 bp99 <<<"$b"
		read -r trps tp50 tp99 <<<"$t"
		awk -v c="$c" -v r="$r" -v brps="$brps" -v bp50="$bp50" -v bp99="$bp99" \
			-v trps="$trps" -v tp50="$tp50" -v tp99="$tp99" \
			'BEGIN { printf "%-6s %-5s %12.0f %9.3f %9.3f %12.0f %9.3f %9.3f %7.2f %12.3f\n", c, r, brps, bp50, bp99, trps, tp50, tp99, trps/brps, tp99-bp99 }'
	done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); tokend log: $(wc -l <"$work/tokend.log") lines" >&2

if [[ ${PROFILE:-} == 1 ]]; then
	purl=$(sed -nE 's/.*msg="profiler listening" url=([^ ]+).*/\1/p' "$work/tokend.log" | head -1)
	secs=${duration%s}
	curl -sf -o "$work/cpu.prof" "${purl}profile?seconds=$secs" &
	prof=$!
	sleep 0.2
	wrk -t "$threads" -c 16 -d "$duration" -s "$work/auth.lua" "$tokend_url$path" >/dev/null
	wait "$prof"
	echo "CPU profile of tokend under wrk -c 16 on $path, cumulative:"
	go tool pprof -top -cum -nodecount "${NODES:-45}" "$work/tokend" "$work/cpu.prof" 2>/dev/null | sed -n '1,60p'
fi

# The token cache's hit rate over the whole run, from the line tokend logs
# when it stops (SQLite only; every commit, last_used_at's included, makes
# the next lookup of each token a miss).
kill -TERM "${pids[0]}" 2>/dev/null && wait "${pids[0]}" 2>/dev/null || true
sed -nE 's/.*msg="token cache" (.*)/tokend token cache: \1/p' "$work/tokend.log"
