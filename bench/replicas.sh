#!/usr/bin/env bash
# bench/replicas.sh: tokend throughput on one replica and on two, on SQLite
# and on PostgreSQL (issue 14, "Speed"). Everything runs on this machine and
# talks to 127.0.0.1 only; every wrk run is bounded by -d.
#
#   bench/replicas.sh [-d SECONDS] [-c CONNECTIONS] [-t THREADS] [-p PATH] [-n TOKENS] [-b BACKENDS]
#
#   -d  seconds per wrk run (default 10)
#   -c  wrk connections per client (default 32)
#   -t  wrk threads per client (default 2)
#   -p  authenticated GET path to hammer (default /v1/user; e.g. /v1/auth/check)
#   -n  tokens to seed for the paging run (default 100000)
#   -b  backends to run, space separated (default "sqlite postgres")
#
# PostgreSQL: TOKEND_BENCH_POSTGRES=postgres://... names a server where the
# script may CREATE and DROP a database; without it a throw-away cluster is
# made with Debian's initdb (package postgresql) in a temp dir, listening on
# a Unix socket only, with the server defaults (fsync and synchronous_commit
# on, as in production).
#
# What it prints, per backend:
#   auth              requests/s of one wrk client against replica A; of two
#                     clients at once against A (the sum); of two clients,
#                     one per replica (the sum); and the ratio of the last
#                     two: what the second replica adds under the same load
#   creates/s         POST /v1/tokens against replica A
#   paging            walking TOKENS seeded tokens in pages of 1000
#
# Two wrk clients and two replicas share the machine's cores: on a 2-core
# machine the "2 replicas" figure measures the machine, not tokend. Secrets
# never reach argv: curl reads credentials from stdin (-K -) and wrk from
# the environment (its Lua script reads BENCH_TOKEN).
set -euo pipefail

dur=10 conns=32 threads=2 path=/v1/user ntok=100000 backends="sqlite postgres"
while getopts d:c:t:p:n:b:h opt; do
	case $opt in
	d) dur=$OPTARG ;;
	c) conns=$OPTARG ;;
	t) threads=$OPTARG ;;
	p) path=$OPTARG ;;
	n) ntok=$OPTARG ;;
	b) backends=$OPTARG ;;
	*) sed -n '2,20p' "$0"; exit 2 ;;
	esac
done
for tool in wrk curl jq go; do
	command -v "$tool" >/dev/null || { echo "replicas.sh: $tool is not installed" >&2; exit 1; }
done

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/tokend-bench.XXXXXX)
chmod 0755 "$work"
pids=()
pgdir=""
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	if [[ -n $pgdir ]]; then
		as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m fast -w stop >/dev/null 2>&1 || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

echo "building tokend..." >&2
(cd "$root" && CGO_ENABLED=0 go build -o "$work/tokend" ./cmd/tokend)
tokend=$work/tokend
pw="bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"

# --- PostgreSQL --------------------------------------------------------------
as_pg() { if [[ $(id -u) == 0 ]]; then runuser -u nobody -- "$@"; else "$@"; fi; }
pg_admin=""
start_postgres() {
	if [[ -n ${TOKEND_BENCH_POSTGRES:-} ]]; then
		pg_admin=$TOKEND_BENCH_POSTGRES
		return
	fi
	pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
	[[ -x $pgbin/initdb ]] || { echo "replicas.sh: no PostgreSQL (install the postgresql package or set TOKEND_BENCH_POSTGRES)" >&2; exit 1; }
	pgdir=$work/pg
	mkdir -p "$pgdir" && chmod 0700 "$pgdir"
	[[ $(id -u) == 0 ]] && chown nobody "$pgdir"
	as_pg "$pgbin/initdb" -D "$pgdir/data" -U postgres --auth=trust -E UTF8 --locale=C >/dev/null
	as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
		-o "-k $pgdir -c listen_addresses= -c max_connections=200" start >/dev/null
	pg_admin="postgres://postgres@/postgres?host=$pgdir"
}
psql_db() { psql -X -q -v ON_ERROR_STOP=1 "$1"; }

# --- tokend ------------------------------------------------------------------
# start_replica DB NAME: starts tokend serve on a free port and sets url to
# its base URL (no command substitution: that would wait for tokend's end).
start_replica() {
	local db=$1 name=$2
	"$tokend" serve --addr 127.0.0.1:0 --addr-file "$work/$name.url" --database "$db" \
		>"$work/$name.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do
		[[ -s $work/$name.url ]] && { url=$(cat "$work/$name.url"); return; }
		sleep 0.1
	done
	echo "replicas.sh: tokend $name did not start:" >&2
	cat "$work/$name.log" >&2
	exit 1
}
stop_replicas() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait "${pids[@]}" 2>/dev/null || true
	pids=()
}

cat >"$work/auth.lua" <<'EOF'
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
EOF
cat >"$work/create.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"name":"bench-create","expires_in_seconds":3600}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
EOF

# rps FILE: the Requests/sec figure of a wrk report; fails on non-2xx.
rps() {
	if grep -q "Non-2xx" "$1"; then
		echo "replicas.sh: wrk saw errors:" >&2
		cat "$1" >&2
		exit 1
	fi
	awk '/Requests\/sec/ {print $2}' "$1"
}

# pair URL1 URL2: two wrk clients at once, one per URL; prints the summed
# requests/s.
pair() {
	wrk -t"$threads" -c"$conns" -d"$dur"s -s "$work/auth.lua" "$1$path" >"$work/pair1.txt" &
	local w=$!
	wrk -t"$threads" -c"$conns" -d"$dur"s -s "$work/auth.lua" "$2$path" >"$work/pair2.txt"
	wait $w
	awk -v x="$(rps "$work/pair1.txt")" -v y="$(rps "$work/pair2.txt")" 'BEGIN {printf "%.0f", x + y}'
}

bench_backend() {
	local backend=$1 db
	case $backend in
	sqlite) db=$work/bench.db ;;
	postgres)
		start_postgres
		local name="tokend_bench_$$"
		psql_db "$pg_admin" <<<"DROP DATABASE IF EXISTS $name; CREATE DATABASE $name;"
		db=$(sed -E "s#/postgres(\?|$)#/$name\1#" <<<"$pg_admin")
		;;
	*) echo "replicas.sh: unknown backend $backend" >&2; exit 2 ;;
	esac
	printf '%s\n' "$pw" | "$tokend" user add bench --database "$db" >/dev/null
	local a b url
	start_replica "$db" "$backend-a"; a=$url
	start_replica "$db" "$backend-b"; b=$url
	BENCH_TOKEN=$(printf 'user = "bench:%s"\n' "$pw" |
		curl -sf -K - -H 'Content-Type: application/json' -d '{"name":"bench"}' "$a/v1/tokens" | jq -r .token)
	export BENCH_TOKEN
	curl -sf -o /dev/null -H @<(printf 'Authorization: Bearer %s\n' "$BENCH_TOKEN") "$a$path" ||
		{ echo "replicas.sh: GET $path with the bench token failed" >&2; exit 1; }

	wrk -t"$threads" -c"$conns" -d"$dur"s -s "$work/auth.lua" "$a$path" >"$work/one.txt"
	local one; one=$(rps "$work/one.txt")
	# The same load (two clients) on one replica, then spread over two: the
	# ratio of these is what a second replica adds on this machine.
	local same two
	same=$(pair "$a" "$a")
	two=$(pair "$a" "$b")
	wrk -t"$threads" -c"$conns" -d"$dur"s -s "$work/create.lua" "$a/v1/tokens" >"$work/create.txt"
	local creates; creates=$(rps "$work/create.txt")

	# Seed ntok tokens straight into the database (ids "0…i" sort before
	# every real one), then walk them all through the API.
	local uid
	case $backend in
	sqlite)
		stop_replicas
		sqlite3 "$db" <<EOF
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ntok)
INSERT INTO tokens (id, user_id, name, key_hint, digest, created_at, expires_at)
SELECT printf('0%025d', i), (SELECT id FROM users WHERE username = 'bench'), 'seed-' || i, 'tkn_seed…seed',
       randomblob(32), 1700000000000000000 + i, 4102444800000000000 FROM n;
COMMIT;
EOF
		start_replica "$db" "$backend-a2"; a=$url
		;;
	postgres)
		psql_db "$db" <<EOF
INSERT INTO tokens (id, user_id, name, key_hint, digest, created_at, expires_at)
SELECT '0' || lpad(i::text, 25, '0'), (SELECT id FROM users WHERE username = 'bench'), 'seed-' || i, 'tkn_seed…seed',
       decode(md5(i::text) || md5('x' || i::text), 'hex'), timestamptz '2023-11-14' + i * interval '1 ms', timestamptz '2100-01-01'
FROM generate_series(1, $ntok) AS i;
ANALYZE tokens;
EOF
		;;
	esac
	# The time is curl's (request to last byte, summed over the pages), so
	# jq's parsing of each page stays out of the figure.
	local pages=0 seen=0 cursor="" n took=0 t
	while :; do
		t=$(curl -s -o "$work/page.json" -w '%{time_total}' -H @<(printf 'Authorization: Bearer %s\n' "$BENCH_TOKEN") \
			"$a/v1/tokens?limit=1000${cursor:+&cursor=$cursor}")
		read -r n cursor < <(jq -r '"\(.items | length) \(.next_cursor // "")"' "$work/page.json" 2>/dev/null) ||
			{ echo "replicas.sh: listing failed: $(head -c 500 "$work/page.json")" >&2; tail -n 3 "$work"/*.log >&2; exit 1; }
		pages=$((pages + 1)) seen=$((seen + n))
		took=$(awk -v a="$took" -v b="$t" 'BEGIN {print a + b}')
		[[ -z $cursor ]] && break
	done
	stop_replicas
	printf '%-8s auth: 1 client/1 replica %6.0f/s, 2 clients/1 replica %6.0f/s, 2 clients/2 replicas %6.0f/s (x%s); creates %4.0f/s; paging %d tokens in %d pages: %.2f s (%.1f ms/page)\n' \
		"$backend" "$one" "$same" "$two" "$(awk -v a="$same" -v b="$two" 'BEGIN {printf "%.2f", b / a}')" "$creates" \
		"$seen" "$pages" "$took" "$(awk -v a="$took" -v p="$pages" 'BEGIN {print a * 1000 / p}')"
}

echo "wrk -t$threads -c$conns -d${dur}s, GET $path; $(nproc) cores; $(date -u +%FT%TZ)" >&2
for be in $backends; do
	bench_backend "$be"
done
