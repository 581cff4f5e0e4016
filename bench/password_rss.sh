#!/usr/bin/env bash
# bench/password_rss.sh: tokend's peak memory under a burst of password
# sign-ins (issue 20, "Password checks bounded in memory"). Builds tokend,
# adds a user, starts `tokend serve` (no --trust-proxy), sends N concurrent
# HTTP Basic GET /v1/user from N loopback addresses (127.0.0.1..N, so no
# per-address limit applies) and prints the process's peak RSS (VmHWM from
# /proc/PID/status) before and after.
#
#   bench/password_rss.sh [-n N] [-r ROUNDS] [-b TOKEND_BINARY]
#
#   -n  concurrent sign-ins (default 64, at most 254)
#   -r  bursts, one after the other (default 1)
#   -b  a tokend binary to measure instead of building this checkout's
#
# Extra environment (e.g. GOMEMLIMIT, GOGC, GOMAXPROCS) is passed to tokend.
# The password travels on stdin and in $BENCH_PASSWORD, never in argv.
set -euo pipefail
n=64 rounds=1 bin=""
while getopts n:r:b:h opt; do
	case $opt in
	n) n=$OPTARG ;;
	r) rounds=$OPTARG ;;
	b) bin=$OPTARG ;;
	*) sed -n '2,17p' "$0"; exit 2 ;;
	esac
done
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
if [ -z "$bin" ]; then
	(cd "$root" && CGO_ENABLED=0 go build -trimpath -o "$work/tokend" ./cmd/tokend)
	bin=$work/tokend
fi
(cd "$root" && go build -o "$work/passwordrss" ./bench/passwordrss)
export BENCH_PASSWORD="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s\n' "$BENCH_PASSWORD" | "$bin" user add bench --database "$work/tokend.db" >/dev/null
"$bin" serve --addr 127.0.0.1:0 --addr-file "$work/url" --database "$work/tokend.db" 2>"$work/log" &
pid=$!
for _ in $(seq 100); do [ -s "$work/url" ] && break; sleep 0.1; done
[ -s "$work/url" ] || { echo "password_rss.sh: tokend did not start:" >&2; cat "$work/log" >&2; exit 1; }
hwm() { awk '/^VmHWM/ { printf "%.1f MB", $2 / 1024 }' "/proc/$pid/status"; }
echo "tokend $(GOMAXPROCS=${GOMAXPROCS:-} nproc) cores; peak RSS before the burst: $(hwm)"
"$work/passwordrss" -url "$(cat "$work/url")" -n "$n" -rounds "$rounds"
echo "peak RSS after $n concurrent password sign-ins x $rounds: $(hwm)"
