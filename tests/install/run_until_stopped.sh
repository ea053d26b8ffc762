#!/usr/bin/env bash
# Runs examples/toml_app (PROGRAM CONFIG) until its tree is up and its
# order_router has crashed once and been restarted, then sends SIGTERM and
# checks that the tree stopped in reverse order and the program exited 0.
# Every wait is bounded by one deadline; nothing sleeps.
set -uo pipefail
program=$1 config=$2
deadline=$((SECONDS + 60))
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
log=$dir/output

mkfifo "$dir/pipe"
"$program" "$config" >"$dir/pipe" 2>&1 &
pid=$!
exec {out}<"$dir/pipe"

fail() {
  echo "toml_app: $*"
  echo "--- output:"
  cat "$log"
  kill -KILL "$pid" 2>/dev/null
  exit 1
}

# Reads output lines until the command "$@" succeeds; fails at the deadline
# or at the end of the output.
read_until() {
  local line
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    IFS= read -r -t $((deadline - SECONDS)) line <&"$out" || return 1
    printf '%s\n' "$line" >>"$log"
  done
}

# Started, the router crashed and was restarted, and the restarted router
# asked the pool again (it prints a second time).
started_and_restarted() {
  grep -q 'node_started node="shop"' "$log" &&
    grep -q 'child_started .*supervisor="shop" .*child="storage"' "$log" &&
    grep -q 'child_terminated .*supervisor="storage" .*child="order_router" reason="exception: lost the connection to the order queue"' "$log" &&
    grep -q 'child_started .*supervisor="storage" .*child="order_router" restarts=1' "$log" &&
    (($(grep -c '^order_router: batches of 20, apples at 7\.2$' "$log") >= 2))
}
touch "$log"
read_until started_and_restarted || fail "not started, or no restart of order_router, within the deadline"

kill -TERM "$pid"
while ((SECONDS < deadline)) && IFS= read -r -t $((deadline - SECONDS)) line <&"$out"; do
  printf '%s\n' "$line" >>"$log"
done
if ((SECONDS >= deadline)); then
  fail "still running after SIGTERM at the deadline"
fi
wait "$pid"
rc=$?
((rc == 0)) || fail "exit code $rc after SIGTERM (expected 0)"

# Reverse order: the nested supervisor ends before the root.
storage=$(grep -n 'supervisor_shutdown .*supervisor="storage" .*reason="shutdown"' "$log" | head -1 | cut -d: -f1)
root=$(grep -n 'supervisor_shutdown .*supervisor="shop" .*reason="shutdown"' "$log" | head -1 | cut -d: -f1)
[[ -n $storage && -n $root ]] || fail "no supervisor_shutdown reports for storage and shop"
((storage < root)) || fail "the root stopped before storage"
grep -q 'node_stopped node="shop"' "$log" || fail "no node_stopped report"
echo "toml_app: restarted its order_router, stopped in order on SIGTERM, exit 0"
cat "$log"
