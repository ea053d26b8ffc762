#!/usr/bin/env bash
# `make fuzz`: runs each libFuzzer target for a bounded time and fails if any
# finds a crash, a hang, a leak or undefined behaviour, naming the input.
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS TARGET...
# Each target starts from its seed corpus (tests/fuzz/corpus/TARGET, read
# only) and BUILD_DIR/fuzz/TARGET/corpus, where new inputs go and stay for
# the next run; findings go to BUILD_DIR/fuzz/TARGET/findings, emptied first.
set -uo pipefail

build=$1
seconds=$2
shift 2
seeds=$(cd "$(dirname "$0")" && pwd)/corpus
found=0

# Longest input per target: room for deep keys (loader) and big headers (http).
max_len() {
  case $1 in
    loader) echo 131072 ;;
    *) echo 32768 ;;
  esac
}

for target in "$@"; do
  program=$build/tests/otpp-fuzz-$target
  work=$build/fuzz/$target
  rm -rf "$work/findings"
  mkdir -p "$work/corpus" "$work/findings"
  echo "make fuzz: $target for $seconds s (log: $work/log.txt)"
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$program" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -max_len="$(max_len "$target")" \
    -print_final_stats=1 -artifact_prefix="$work/findings/" "$work/corpus" "$seeds/$target" >"$work/log.txt" 2>&1
  status=$?
  executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log.txt")
  echo "make fuzz: $target: ${executed:-?} executions, $(ls "$work/corpus" | wc -l) inputs in $work/corpus, exit $status"
  findings=$(find "$work/findings" -type f)
  if [[ $status -ne 0 || -n $findings ]]; then
    found=1
    tail -n 60 "$work/log.txt"
    for f in $findings; do
      echo "make fuzz: $target: FINDING $f (reproduce: $program $f)"
    done
    [[ -n $findings ]] || echo "make fuzz: $target: failed without a finding file; see $work/log.txt"
  fi
done
exit $found
