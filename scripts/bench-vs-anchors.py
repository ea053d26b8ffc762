#!/usr/bin/env python3
"""Runs otpp-bench beside the poolboy/OTP and raw-ETS anchors in one go and
prints each performance target with the same-run reference and the ratio.

Usage: scripts/bench-vs-anchors.py --anchors DIR [--bench build/apps/otpp-bench]
                                   [--rounds 3] [--raw FILE]
DIR holds poolboy_bench/run.sh (needs erlang-base, erlang-poolboy) and
ets_bench/ets_bench.exs (needs elixir); they are not part of this repository.
--raw FILE also writes every JSON line measured, round by round.
"""
import argparse
import json
import subprocess
import sys

# Hammer 7.3's figures, recorded once beside raw ETS update_counter
# (anchors/ets_bench/README.md): shape -> (raw ETS, {algorithm: Hammer}).
HAMMER_RECORDED = {
    (1, 1): (4.42e6, {"fixed_window": 3.02e6, "sliding_window": 4.6e3, "token_bucket": 0.94e6, "leaky_bucket": 1.26e6}),
    (16, 1000): (6.33e6, {"fixed_window": 4.36e6, "sliding_window": 6.3e3, "token_bucket": 1.71e6, "leaky_bucket": 1.70e6}),
}


def json_lines(command):
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    lines = []
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def find(lines, bench, **fields):
    for x in lines:
        if x.get("bench") == bench and all(x.get(k) == v for k, v in fields.items()):
            return x
    return None


def measure(args):
    lines = json_lines(["sh", args.anchors + "/poolboy_bench/run.sh"])
    lines += json_lines(["elixir", args.anchors + "/ets_bench/ets_bench.exs"])
    for subject in ["supervisor.restart", "scheduler.idle_cpu", "pool.checkout_checkin", "pool.transaction",
                    "protected_operation", "limiter.hits", "limiter.memory", "limiter.redis"]:
        lines += json_lines([args.bench, "--filter", subject])
    return lines


def rows(lines):
    """(target, otpp figure, reference, ratio, wanted, met) for each target."""
    out = []

    def ratio_row(name, mine, ref, wanted):
        if mine is None or ref is None:
            out.append((name, mine, ref, None, wanted, False))
        else:
            r = mine / ref
            out.append((name, mine, ref, r, wanted, r >= wanted))

    def rate(bench, **f):
        x = find(lines, bench, **f)
        return x["ops_per_s"] if x else None

    for callers in (1, 16):
        ref = rate("pool_transaction", callers=callers)
        ratio_row(f"pool.transaction {callers} threads vs poolboy transaction", rate("pool.transaction", threads=callers), ref, 2)
        ratio_row(f"pool.transaction_actor {callers} actors vs poolboy transaction", rate("pool.transaction_actor", actors=callers), ref, 2)
        ratio_row(f"pool.transaction_lease {callers} threads vs poolboy transaction", rate("pool.transaction_lease", threads=callers), ref, 0)
        ratio_row(f"pool.checkout_checkin {callers} threads vs poolboy checkout+checkin",
                  rate("pool.checkout_checkin", threads=callers), rate("pool_checkout_checkin", callers=callers), 25)
    ratio_row("protected_operation 16 threads vs poolboy transaction", rate("protected_operation", threads=16),
              rate("pool_transaction", callers=16), 2)

    otp = find(lines, "sup_restart_latency")
    mine = find(lines, "supervisor.restart", scheduler="otpp")
    kill = find(lines, "caf.kill_to_down", scheduler="otpp")
    for q, ref_key in (("p50_us", "init_median_us"), ("p99_us", "init_p99_us")):
        m = mine[q] if mine else None
        r = otp[ref_key] if otp else None
        # a latency: otpp <= OTP; the ratio shown is otpp / OTP
        out.append((f"supervisor.restart {q} vs OTP {ref_key}", m, r, m / r if m and r else None, "<= 1x",
                    m is not None and r is not None and m <= r))
    out.append(("caf.kill_to_down p50_us (beside it)", kill["p50_us"] if kill else None, None, None, None, True))

    ets = {(x["procs"], x["keys"]): x["ops_per_s"] for x in lines if x.get("bench") == "ets_update_counter_raw"}
    for (threads, keys), (raw_recorded, hammer) in HAMMER_RECORDED.items():
        for algorithm, figure in hammer.items():
            scaled = figure * ets[(threads, keys)] / raw_recorded if (threads, keys) in ets else None
            ratio_row(f"limiter.{algorithm} {threads} threads {keys} keys vs Hammer scaled",
                      rate("limiter." + algorithm, threads=threads, keys=keys), scaled, 10)
    for algorithm in ("fixed_window", "sliding_window", "token_bucket", "leaky_bucket"):
        ratio_row(f"limiter.{algorithm} 16 threads vs 1 thread", rate("limiter." + algorithm, threads=16, keys=1000),
                  rate("limiter." + algorithm, threads=1, keys=1), 1)
    for algorithm in ("fixed_window", "token_bucket", "leaky_bucket"):
        x = find(lines, "limiter.memory", algorithm=algorithm)
        b = x["bytes_per_key"] if x else None
        out.append((f"limiter.memory {algorithm} bytes per key", b, 64, None, "<= 64", b is not None and b <= 64))

    for block in (0, 1000):
        redis = find(lines, "limiter.redis.token_bucket", threads=16, connections=4, block=block)
        name = f"limiter.redis.token_bucket 16 threads 4 connections block {block}"
        if redis:
            ratio_row(name + " vs INCR (vs_incr)", redis["vs_incr"], 1, 0.8)
            out.append((name + " over_admitted", redis["over_admitted"], 0, None, "0", redis["over_admitted"] == 0))
        else:
            out.append((name, None, None, None, 0.8, False))
    for two in (x for x in lines if x.get("bench") == "limiter.redis.token_bucket.two_nodes"):
        ratio_row(f"limiter.redis.token_bucket.two_nodes, {two['threads_per_node']} threads per node, vs one node",
                  two["ops_per_s"], two["one_node_ops_per_s"], 1.0001)

    idle = find(lines, "scheduler.idle_cpu", scheduler="otpp", timer_every_ms=0)
    p = idle["cpu_percent_of_one_core"] if idle else None
    out.append(("scheduler.idle_cpu otpp, % of one core", p, 2, None, "< 2", p is not None and p < 2))
    return out


def show(value):
    if value is None:
        return "missing"
    if isinstance(value, float):
        return f"{value / 1e6:.2f}M" if value >= 1e6 else (f"{value / 1e3:.1f}k" if value >= 1e4 else f"{value:.3g}")
    return str(value)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--anchors", required=True)
    parser.add_argument("--bench", default="build/apps/otpp-bench")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--raw")
    args = parser.parse_args()
    raw = open(args.raw, "w") if args.raw else None
    for round_ in range(1, args.rounds + 1):
        lines = measure(args)
        if raw:
            for x in lines:
                raw.write(json.dumps(dict(x, round=round_)) + "\n")
            raw.flush()
        print(f"round {round_}")
        for name, mine, ref, ratio, wanted, met in rows(lines):
            r = f"{ratio:.2f}x" if ratio is not None else ""
            print(f"  {'ok  ' if met else 'MISS'} {name}: {show(mine)} | ref {show(ref)} | {r} (target {wanted})")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
