#!/usr/bin/env bash
# `make demo`: the whole product in one run. Builds nothing itself (make
# does), starts tokend on a throw-away SQLite file, logs in, makes, lists
# and bulk-deletes tokens, then stops the server and cleans up, leaving no
# process or file behind.
set -euo pipefail
bin=${BIN:-bin}
bin=$(cd "$bin" && pwd)
export PATH="$bin:$PATH"

work=$(mktemp -d "${TMPDIR:-/tmp}/tokenctl-demo.XXXXXX")
server_pid=""
host=""
cleanup() {
  set +e
  if [[ -n "$host" && -z "${TOKENCTL_TOKEN:-}" ]]; then
    tokenctl auth logout --host "$host" >/dev/null 2>&1
  fi
  if [[ -n "$server_pid" ]]; then
    kill -TERM "$server_pid" 2>/dev/null
    wait "$server_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

# Keep the demo's config away from the user's own.
export XDG_CONFIG_HOME="$work/config"
unset TOKENCTL_TOKEN TOKENCTL_HOST TOKENCTL_PROFILE

# say shows a command as a person would type it, quoting only what needs it.
say() {
  local out="" a
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+=" $a"; else out+=" '${a//\'/\'\\\'\'}'"; fi
  done
  say_raw "${out# }"
}
say_raw() { printf '\n\033[1m$ %s\033[0m\n' "$1" >&2; }
run() { say "$@"; "$@"; }

# serve refuses a database that does not exist: the first user creates it.
password="demo-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
say_raw "tokend user add demo --database $work/tokend.db"
printf '%s\n' "$password" | tokend user add demo --database "$work/tokend.db"

say_raw "tokend serve --addr 127.0.0.1:0 --database $work/tokend.db"
tokend serve --addr 127.0.0.1:0 --addr-file "$work/addr" --database "$work/tokend.db" \
  2>"$work/tokend.log" &
server_pid=$!
for _ in $(seq 100); do [[ -s "$work/addr" ]] && break; sleep 0.05; done
[[ -s "$work/addr" ]] || { echo "demo: tokend did not start:" >&2; cat "$work/tokend.log" >&2; exit 1; }
host=$(cat "$work/addr")
echo "tokend is listening on $host" >&2

say_raw "printf '%s\\n' '***' | tokenctl auth login --host $host --username demo --password-stdin"
if printf '%s\n' "$password" | tokenctl auth login --host "$host" --username demo --password-stdin 2>"$work/login.err"; then
  cat "$work/login.err" >&2
  echo "(the credential is in your OS keyring)" >&2
elif grep -qi keyring "$work/login.err"; then
  # Not a failure of the demo: a container or headless box has no Secret
  # Service. Say so plainly instead of showing the login's error.
  echo "This machine has no OS keyring, so the demo keeps its credential in TOKENCTL_TOKEN instead, as a CI job would." >&2
  XDG_CONFIG_HOME="$work/insecure" sh -c "printf '%s\n' \"\$0\" | tokenctl auth login --host $host --username demo --password-stdin --insecure-storage" "$password" >/dev/null 2>&1
  TOKENCTL_TOKEN=$(XDG_CONFIG_HOME="$work/insecure" tokenctl auth token --host "$host")
  export TOKENCTL_TOKEN
  rm -rf "$work/insecure"
else
  cat "$work/login.err" >&2
  echo "demo: auth login failed" >&2
  exit 1
fi
export TOKENCTL_HOST="$host"

run tokenctl auth status
run tokenctl token create deploy-key -d "used by the deploy job" --expires-in 30d
run tokenctl token list
for i in 1 2 3 4 5; do
  tokenctl token create "ci-demo-$i" --expires-in 1h -q >/dev/null
done
echo "(created ci-demo-1 … ci-demo-5)" >&2
run tokenctl token list --name 'ci-*'
run tokenctl token delete --name 'ci-*' --dry-run
run tokenctl token delete --name 'ci-*' --yes
run tokenctl token list
say_raw "tokenctl token list -o json --jq '.[].name'"
tokenctl token list -o json --jq '.[].name'
echo >&2
echo "demo: done — stopping tokend and removing $work" >&2
