#!/usr/bin/env bash
# Starts the three-node example cluster on loopback with a local Redis, then
# shows a remote checkout, a killed node and its return, in the logs and in
# /status. Run from the repository root after `make build`:
#   config/cluster-example/run.sh
# OTPP_NODE overrides the otpp-node binary; logs go to a temporary directory
# (kept, unless OTPP_EXAMPLE_DROP_LOGS=1).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
node_bin=${OTPP_NODE:-$here/../../build/apps/otpp-node}
logs=$(mktemp -d /tmp/otpp-cluster-example-XXXXXX)
[[ -x $node_bin ]] || { echo "run.sh: no otpp-node at $node_bin (run make build, or set OTPP_NODE)" >&2; exit 1; }
command -v curl >/dev/null || { echo "run.sh: needs curl" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "run.sh: needs redis-server" >&2; exit 1; }

declare -A pid
cleanup() {
  for p in "${pid[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ ${OTPP_EXAMPLE_DROP_LOGS:-0} == 1 ]]; then rm -rf "$logs"; else echo "logs kept in $logs"; fi
}
trap cleanup EXIT

http_port() { case $1 in a) echo 8371;; b) echo 8372;; c) echo 8373;; esac; }
start() { "$node_bin" "$here/node-$1.toml" 2>>"$logs/node-$1.log" & pid[$1]=$!; }
status() { curl -fsS "http://127.0.0.1:$(http_port "$1")/status" 2>/dev/null || true; }
peers_of() { status "$1" | grep -o '"peers":\[.*\]' | grep -o '{"name":"[^"]*","state":"[^"]*"' | sed 's/{"name":"\([^"]*\)","state":"\([^"]*\)"/\1=\2/' | tr '\n' ' '; }
# Waits up to 15 s until node $1 sees peer $2 in state $3.
wait_peer() {
  for _ in $(seq 150); do
    [[ " $(peers_of "$1")" == *" $2=$3 "* ]] && return 0
    sleep 0.1
  done
  echo "run.sh: node-$1 never saw $2 $3 (peers: $(peers_of "$1"))" >&2
  return 1
}
say() { printf '\n== %s\n' "$*"; }

redis-server --port 6390 --bind 127.0.0.1 --save '' --appendonly no >"$logs/redis.log" 2>&1 & pid[redis]=$!
for n in a b c; do start "$n"; done
say "three nodes started; waiting until they see each other"
wait_peer a node-b up && wait_peer a node-c up && wait_peer b node-c up
for n in a b c; do echo "node-$n sees: $(peers_of "$n")"; done

say "remote checkout: node-a checks a worker of database@node-b out and in"
curl -fsS -d "" "http://127.0.0.1:8371/pools/database@node-b/probe"; echo
curl -fsS "http://127.0.0.1:8371/pools/database@node-b"; echo

say "node-b is killed (SIGKILL)"
kill -9 "${pid[b]}"; wait "${pid[b]}" 2>/dev/null || true
wait_peer a node-b down
echo "node-a sees: $(peers_of a)"
grep -h "node_down" "$logs/node-a.log" | tail -1
echo "a checkout now fails at once:"
curl -sS -d "" "http://127.0.0.1:8371/pools/database@node-b/probe"; echo

say "node-b comes back"
start b
wait_peer a node-b up
echo "node-a sees: $(peers_of a)"
grep -h 'node_up.* peer="node-b"' "$logs/node-a.log" | tail -1
curl -fsS -d "" "http://127.0.0.1:8371/pools/database@node-b/probe"; echo
say "done"
