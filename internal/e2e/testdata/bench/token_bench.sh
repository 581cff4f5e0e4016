#!/usr/bin/env bash
# Speed figures for `tokenctl token` (issue 4, item 9). Run by hand from the
# repository root after `make build`:
#
#   internal/e2e/testdata/bench/token_bench.sh [DELETE_N] [LIST_N]
#
# 1. bulk delete of DELETE_N (default 10000) tokens with `tokenctl token delete
#    --name 'bench-*' --yes` against a shell loop of single
#    `curl -X DELETE /v1/tokens/ID` requests (one process per token, as a
#    script without tokenctl would do it); prints both wall times and the ratio.
# 2. `tokenctl token list -o json` of LIST_N (default 100000) tokens: wall
#    time and peak RSS (GNU time), and the same for a 1,000-token list to show
#    that memory does not grow with the list.
#
# Everything runs against a real tokend on a temporary SQLite file; nothing
# outside a temp dir is touched. Needs bin/tokenctl, bin/tokend, curl, GNU time.
set -euo pipefail
DELETE_N=${1:-10000}
LIST_N=${2:-100000}
root=$(cd "$(dirname "$0")/../../../.." && pwd)
tokenctl=$root/bin/tokenctl
tokend=$root/bin/tokend
for b in "$tokenctl" "$tokend"; do [[ -x $b ]] || { echo "missing $b: run make build" >&2; exit 1; }; done

work=$(mktemp -d)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export HOME=$work XDG_CONFIG_HOME=$work/config
unset TOKENCTL_TOKEN TOKENCTL_HOST TOKENCTL_PROFILE

printf 'pw-bench\n' | "$tokend" user add bench --database "$work/tokend.db" >/dev/null 2>&1
"$tokend" serve --addr 127.0.0.1:0 --addr-file "$work/addr" --database "$work/tokend.db" 2>"$work/tokend.log" &
pid=$!
for _ in $(seq 100); do [[ -s $work/addr ]] && break; sleep 0.1; done
url=$(cat "$work/addr")
[[ $url == *://* ]] || url=http://$url
printf 'pw-bench\n' | "$tokenctl" auth login --host "$url" --username bench --password-stdin --insecure-storage >/dev/null 2>&1
export TOKENCTL_HOST=$url
secret=$("$tokenctl" auth token)

# seed N: create N tokens named bench-1..N with parallel keep-alive curl (fast,
# and not part of what is measured).
seed() {
  local n=$1 cfg=$work/seed.curl
  umask 077
  : >"$cfg"
  for i in $(seq "$n"); do
    ((i > 1)) && echo next >>"$cfg"
    printf 'url = "%s/v1/tokens"\nrequest = "POST"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\ndata = "{\\"name\\":\\"bench-%d\\",\\"expires_in_seconds\\":86400}"\noutput = "/dev/null"\n' "$url" "$secret" "$i" >>"$cfg"
  done
  curl -s --no-progress-meter --fail --parallel --parallel-max 8 -K "$cfg"
}

now() { date +%s.%N; }

echo "== bulk delete of $DELETE_N tokens"
seed "$DELETE_N"
t0=$(now)
"$tokenctl" token delete --name 'bench-*' --yes
t1=$(now)
cli=$(echo "$t1 - $t0" | bc)
echo "tokenctl token delete --name 'bench-*' --yes: ${cli}s"

seed "$DELETE_N"
"$tokenctl" token list --name 'bench-*' --jq '.[].id' >"$work/ids"
t0=$(now)
while read -r id; do
  curl -s --fail -o /dev/null -X DELETE -H "Authorization: Bearer $secret" "$url/v1/tokens/$id"
done <"$work/ids"
t1=$(now)
loop=$(echo "$t1 - $t0" | bc)
echo "shell loop of $(wc -l <"$work/ids") curl -X DELETE: ${loop}s"
echo "ratio (curl loop / tokenctl): $(echo "scale=1; $loop / $cli" | bc)x"

echo "== token list -o json"
seed 1000
/usr/bin/time -f "1000 tokens: %e s wall, %M KB peak RSS" "$tokenctl" token list -o json >/dev/null
seed $((LIST_N - 1000))
/usr/bin/time -f "$LIST_N tokens: %e s wall, %M KB peak RSS" "$tokenctl" token list -o json >"$work/list.json"
echo "items listed: $(jq length "$work/list.json")"
