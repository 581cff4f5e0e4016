#!/usr/bin/env bash
# bench/startup.sh — tokenctl's start-up against a hello-world Go binary
# built with the same flags as `make build`, measured as whole processes.
# Needs go and hyperfine. Also prints what package init costs (inittrace).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v hyperfine >/dev/null || { echo "bench/startup.sh: hyperfine is not installed" >&2; exit 2; }
mkdir "$work/hello"
printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n' >"$work/hello/main.go"
printf 'module hello\n\ngo 1.26\n' >"$work/hello/go.mod"
flags=(-trimpath -ldflags "-s -w")
(cd "$root" && CGO_ENABLED=0 go build "${flags[@]}" -o "$work/tokenctl" ./cmd/tokenctl)
(cd "$work/hello" && CGO_ENABLED=0 go build "${flags[@]}" -o "$work/hello-bin" .)
echo "binary sizes: tokenctl $(stat -c %s "$work/tokenctl") bytes, hello $(stat -c %s "$work/hello-bin") bytes"
GODEBUG=inittrace=1 "$work/tokenctl" version 2>&1 >/dev/null |
	awk '/^init/ { n++; b += $8; a += $10 } END { printf "package init: %d packages, %d bytes, %d allocations\n", n, b, a }'
cd "$work"
HOME=$work XDG_CONFIG_HOME=$work/config hyperfine -N -w 5 -r "${RUNS:-100}" \
	./hello-bin './tokenctl version' './tokenctl --help' './tokenctl completion bash'
