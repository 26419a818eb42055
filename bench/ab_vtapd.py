#!/usr/bin/env python3
"""Interleaved A/B of two vtapd binaries on one offline config.

Runs A and B alternately (the order flips every pair, so a neighbour's
burst on this shared machine lands on both), reads each run's stats file
and reports the worker's core rate: worker.bytes * 8 / (worker.busy_cycles
/ tsc_hz), i.e. Gbit/s while the worker had packets. Prints per-pair
figures, the medians and the median of the per-pair B/A ratios, and fails
if the two binaries raised a different number of alerts.

  /usr/bin/python3 bench/ab_vtapd.py --a /tmp/ab/vtapd.old --b build/apps/vtapd/vtapd \\
      --config /tmp/e2e/ndpi-mix-ether.yaml --pairs 6
(the config from bench/e2e_detect.py --work /tmp/e2e, here with --copies 8)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def run(binary, cfg, stats_file):
    r = subprocess.run([binary, "-c", cfg, "--stats-file", stats_file], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"ab_vtapd: {binary} failed ({r.returncode}):\n{r.stderr}")
    with open(stats_file) as f:
        s = json.load(f)
    busy_s = s["worker.busy_cycles"] / s["tsc_hz"]
    return {"core_gbps": s["worker.bytes"] * 8 / busy_s / 1e9, "elapsed_s": s["elapsed_s"],
            "alerts": s.get("alert.generated", 0), "stream_allocs": s.get("detect.stream_allocs", 0),
            "streams_active": s.get("detect.streams_active", 0)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="baseline vtapd binary")
    ap.add_argument("--b", required=True, help="candidate vtapd binary")
    ap.add_argument("--config", required=True)
    ap.add_argument("--config-b", help="B runs this config instead (same binary twice: a config A/B)")
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--json", help="write the per-run figures and medians here")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="vtap-ab.")
    runs = {"a": [], "b": []}
    for i in range(a.pairs):
        order = ("a", "b") if i % 2 == 0 else ("b", "a")
        for k in order:
            cfg = a.config_b if k == "b" and a.config_b else a.config
            runs[k].append(run(getattr(a, k), cfg, os.path.join(work, f"{k}{i}.json")))
        ra, rb = runs["a"][-1], runs["b"][-1]
        print(f"pair {i + 1}: A {ra['core_gbps']:.3f} B {rb['core_gbps']:.3f} core Gbit/s (B/A "
              f"{rb['core_gbps'] / ra['core_gbps']:.2f}); alerts {ra['alerts']} {rb['alerts']}; stream_allocs "
              f"{ra['stream_allocs']} {rb['stream_allocs']}", flush=True)
    med = {k: statistics.median(r["core_gbps"] for r in v) for k, v in runs.items()}
    ratio = statistics.median(b["core_gbps"] / x["core_gbps"] for x, b in zip(runs["a"], runs["b"]))
    print(f"median core Gbit/s: A {med['a']:.3f}  B {med['b']:.3f}; median per-pair B/A {ratio:.3f} "
          f"({a.pairs} pairs, {a.config})")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"a": a.a, "b": a.b, "config": a.config, "config_b": a.config_b, "runs": runs, "median_core_gbps": med,
                       "median_ratio_b_over_a": ratio}, f, indent=1)
    alerts = {r["alerts"] for v in runs.values() for r in v}
    if len(alerts) != 1:
        sys.exit(f"ab_vtapd: the binaries raised different alert counts: {sorted(alerts)}")


if __name__ == "__main__":
    main()
