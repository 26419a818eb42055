#!/usr/bin/python3
"""End-to-end detection benchmark (issue 3): vtapd with one worker and every
loadable ET Open rule over the real-traffic captures wrapped as VTAP traffic,
against the ceiling measured in the same run: bench/detect_ceiling, Hyperscan
alone over exactly the bytes vtapd's worker hands to detection, with the same
databases (same config, same runtime::load_and_compile, same cache).

Measures, per capture and trial (trials interleave the programs, medians are
reported):
  - vtapd offline (a pcap port read once to the end, 1 RX lcore + 1 worker):
    inner packets/s and Gbit/s = worker.packets / worker.bytes over elapsed_s.
    By default the port is `preload: true` (drivers/pcap: the file is read
    into memory at start and its frames are queued in place on a net_ring
    port, so RX only dequeues, as from a NIC's ring); `--input file` reads
    it with net_pcap while running, which on a small VM is slower than the
    worker and bounds the figure
  - the ceiling: same packets and inner bytes over the median Hyperscan time
  - vtapd without rules on the same input: what the offline input path
    (the port, decap, ring) allows, so a vtapd figure near it says "bounded
    by the input", not by detection
  - the worker core's capacity: worker.bytes over the worker's busy time
    (worker.busy_cycles / tsc_hz: TSC cycles spent on non-empty bursts, as
    OVS-DPDK's pmd "processing cycles"), i.e. what the one worker core would
    take if its input never waited; its ratio to the ceiling compares the
    core's cost per byte (decap'd frame -> flow -> reassembly -> detection ->
    alert) with Hyperscan's alone, which the offline input cannot show
  - cold compile (empty cache_dir) and cached start: `vtapd --test-rules`
    wall time and the compile time vtapd prints; the time from exec to
    vtapd's "running" line with a warm cache, with the capture preloaded (the
    runs measured here) and with the port reading its file instead (no
    preload: the start a NIC port sees; vtapd is stopped once running)
  - state per tracked flow: the flow table's bytes per flow and the stream
    handles (vtapd), the confirmation window per active stream (vtapd),
    Hyperscan's stream state per stream

Offline `--pcap`, not `infinite_rx`: replaying a capture in a loop repeats the
same TCP sequence numbers, so after the first pass nearly every stream byte
is a retransmission that reassembly drops and detection never sees; one pass
over the file is the steady state of this traffic. Each capture is wrapped
by vtap-pcap (byte for byte, as VTAP VXLAN).

`--copies K` wraps each capture K times in a row (vtap-pcap wrap --copies:
copy c >= 1 behind an inner VLAN tag c, so its conversations are new flows
with the same rules, and later timestamps). One pass of a ~36 MB capture
lasts ~60 ms and holds ~7,500 flows; K copies run K times longer and keep
the flows of earlier copies alive until they close or time out, as a link
carrying this traffic would — the working set a deployed worker has.

usage: bench/e2e_detect.py [--build DIR] [--trials N] [--repeat N] [--work DIR]
                           [--home-net '[CIDR,...]'] [--input preload|file] [--copies K]
                           [--stream-prealloc N] [--json FILE]
Needs the corpus ($VTAP_CORPUS, else ../shared/corpus from the project root,
else /work/shared/corpus); exits 2 with a message without it.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ET_DIR = "rules/et-open-suricata-5.0_2024-04-21"
# --input file: every frame in one mbuf (the worker scans the first segment
# only), so the data room holds the largest inner frame decap accepts + the
# VTAP outer headers + headroom. 4,095 such mbufs (68 MB) are several times
# what one ring and one burst in flight hold; vtapd's default 16,383 would
# be 270 MB, which without hugepages this VM faults in 4 KiB at a time at
# start (~0.25 s). A preloaded port's frames are external buffers of any
# length, so it keeps vtapd's default data room.
DATA_ROOM = 16384 + 50 + 128
MBUFS = 4095


def find_corpus():
    for d in (os.environ.get("VTAP_CORPUS"), os.path.join(ROOT, "..", "shared", "corpus"), "/work/shared/corpus"):
        if d and os.path.isdir(os.path.join(d, ET_DIR)) and glob.glob(os.path.join(d, "traffic", "*.pcap")):
            return os.path.abspath(d)
    return None


def write_config(path, pcap, rule_files, classification, cache_dir, eve, prefix, home_net=None, preload=True,
                 stream_prealloc=None):
    """vtapd configuration shared by vtapd and detect_ceiling (JSON is YAML).
    Rule variables are vtapd's defaults (Suricata's: HOME_NET = RFC 1918)
    unless home_net is given."""
    cfg = {
        "eal": {"args": ["--no-huge", "-m", "1024", "--no-shconf", f"--file-prefix={prefix}",
                         "--log-level=lib.eal:error"]},
        "ports": [{"driver": "pcap", "pcap_file": pcap, "preload": preload}],
        "decap": {"tap_sources": ["0.0.0.0/0"], "max_inner_frame": 16384},
        "mempool": {"mbufs": MBUFS} if preload else {"data_room": DATA_ROOM, "mbufs": MBUFS},
        "pipeline": {"rx_lcores": 1, "workers": 1},
        "stats": {"telemetry": False},
        "detect": {"rule_files": rule_files, "classification_file": classification, "cache_dir": cache_dir},
        "alerts": {"eve": eve},
    }
    if stream_prealloc is not None:
        cfg["detect"]["stream_prealloc"] = stream_prealloc
    if home_net:
        cfg["detect"]["vars"] = {"address": {"HOME_NET": home_net, "EXTERNAL_NET": "!$HOME_NET"}}
    with open(path, "w") as f:
        json.dump(cfg, f, indent=1)


def run_vtapd(vtapd, cfg, stats_file):
    """Runs vtapd over its offline input; returns (stats, seconds from exec to the 'running' line)."""
    t0 = time.monotonic()
    p = subprocess.Popen([vtapd, "-c", cfg, "--stats-file", stats_file], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    start_s = None
    out = []
    for line in p.stdout:
        if start_s is None and line.startswith("vtapd: running"):
            start_s = time.monotonic() - t0
        out.append(line)
    err = p.stderr.read()
    if p.wait() != 0:
        sys.exit(f"e2e_detect: vtapd failed ({p.returncode}):\n{err}")
    with open(stats_file) as f:
        return json.load(f), start_s


def start_only(vtapd, cfg, stats_file):
    """Seconds from exec to vtapd's 'running' line; then stops it (SIGINT)."""
    t0 = time.monotonic()
    p = subprocess.Popen([vtapd, "-c", cfg, "--stats-file", stats_file], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    start_s = None
    for line in p.stdout:
        if line.startswith("vtapd: running"):
            start_s = time.monotonic() - t0
            p.send_signal(signal.SIGINT)
            break
    _, err = p.communicate(timeout=60)
    if p.returncode != 0 or start_s is None:
        sys.exit(f"e2e_detect: vtapd failed ({p.returncode}) or never ran:\n{err}")
    return start_s


def run_ceiling(ceiling, cfg, pcap, repeat, cpu):
    r = subprocess.run([ceiling, "-c", cfg, "--pcap", pcap, "--repeat", str(repeat)], capture_output=True, text=True,
                       preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None)
    if r.returncode != 0:
        sys.exit(f"e2e_detect: detect_ceiling failed ({r.returncode}):\n{r.stderr}")
    return json.loads(r.stdout)


COMPILE_RE = re.compile(r"compiled into (\d+) patterns in ([\d.]+) ms( \(cache hit\))?")


def test_rules(vtapd, cfg):
    """vtapd --test-rules: (wall seconds, compile ms, cache hit, summary line)."""
    t0 = time.monotonic()
    r = subprocess.run([vtapd, "-c", cfg, "--test-rules"], capture_output=True, text=True)
    wall = time.monotonic() - t0
    m = COMPILE_RE.search(r.stdout)
    if not m:
        sys.exit(f"e2e_detect: no compile line from vtapd --test-rules (exit {r.returncode}):\n{r.stdout[-2000:]}{r.stderr}")
    summary = [l for l in r.stdout.splitlines() if l.startswith("rules:")]
    return wall, float(m.group(2)), bool(m.group(3)), summary[-1] if summary else ""


def median(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5, help="Hyperscan passes per ceiling run (median)")
    ap.add_argument("--work", help="keep wrapped captures, configs and stats here")
    ap.add_argument("--json", help="write the medians here")
    ap.add_argument("--home-net", help="HOME_NET for the rules (default: vtapd's, i.e. Suricata's RFC 1918 list)")
    ap.add_argument("--stream-prealloc", type=int,
                    help="detect.stream_prealloc (default vtapd's 4096): streams made at start; with --copies, "
                         "set it to the peak detect.streams_active, else the run pays a page fault per new stream")
    ap.add_argument("--copies", type=int, default=1,
                    help="wrap each capture this many times in a row (new flows per copy; see above)")
    ap.add_argument("--input", choices=("preload", "file"), default="preload",
                    help="pcap port input: preloaded into memory (default) or read by net_pcap while running")
    a = ap.parse_args()

    corpus = find_corpus()
    if corpus is None:
        print("e2e_detect: corpus not found (ET Open rules and traffic/*.pcap under $VTAP_CORPUS, "
              "../shared/corpus or /work/shared/corpus); nothing measured", file=sys.stderr)
        return 2
    vtapd = os.path.join(a.build, "apps/vtapd/vtapd")
    wrap = os.path.join(a.build, "apps/vtap-pcap/vtap-pcap")
    ceiling = os.path.join(a.build, "bench/detect_ceiling")
    for b in (vtapd, wrap, ceiling):
        if not os.access(b, os.X_OK):
            print(f"e2e_detect: {b} not built (ninja -C {a.build} apps/vtapd/vtapd apps/vtap-pcap/vtap-pcap "
                  "bench/detect_ceiling)", file=sys.stderr)
            return 2
    work = a.work or tempfile.mkdtemp(prefix="vtap-e2e-detect.")
    os.makedirs(work, exist_ok=True)
    rules = sorted(glob.glob(os.path.join(corpus, ET_DIR, "*.rules")))
    classification = os.path.join(corpus, ET_DIR, "classification.config")
    cache = os.path.join(work, "cache")
    # The ceiling runs on the CPU vtapd gives its worker (the first allowed one).
    cpus = sorted(os.sched_getaffinity(0))
    worker_cpu = cpus[0] if cpus else None

    captures = []
    for src in sorted(glob.glob(os.path.join(corpus, "traffic", "*.pcap"))):
        name = os.path.basename(src)[:-5]
        vt = os.path.join(work, name + (".vtap.pcap" if a.copies == 1 else f".vtap{a.copies}.pcap"))
        if not os.path.exists(vt):
            subprocess.run([wrap, "wrap", "--in", src, "--out", vt, "--copies", str(a.copies)], check=True,
                           stdout=subprocess.DEVNULL)
        cfg = os.path.join(work, name + ".yaml")
        write_config(cfg, vt, rules, classification, cache, os.path.join(work, name + ".eve.json"), f"e2edet{os.getpid()}",
                     a.home_net, preload=a.input == "preload", stream_prealloc=a.stream_prealloc)
        bare = os.path.join(work, name + ".norules.yaml")
        write_config(bare, vt, [], "", "", "", f"e2edet{os.getpid()}", preload=a.input == "preload")
        captures.append((name, vt, cfg, bare))
    print(f"command: {' '.join(sys.argv)}")
    print(f"corpus {corpus}; {len(rules)} ET Open rule files; HOME_NET {a.home_net or 'default'}; input {a.input}; "
          f"copies {a.copies}; stream_prealloc {a.stream_prealloc or 'default'}; "
          f"work dir {work}")

    # Compile: cold (empty cache dir) then cached, per trial.
    cfg0 = captures[0][2]
    cold_wall, cold_ms, warm_wall, warm_ms = [], [], [], []
    summary = ""
    for t in range(a.trials):
        shutil.rmtree(cache, ignore_errors=True)
        w, ms, hit, summary = test_rules(vtapd, cfg0)
        if hit:
            sys.exit("e2e_detect: cache hit with an empty cache dir")
        cold_wall.append(w), cold_ms.append(ms)
        w, ms, hit, _ = test_rules(vtapd, cfg0)
        if not hit:
            sys.exit("e2e_detect: no cache hit on the second --test-rules")
        warm_wall.append(w), warm_ms.append(ms)
        print(f"compile trial {t + 1}: cold {ms_fmt(cold_ms[-1])} ms compile, {cold_wall[-1]:.2f} s --test-rules; "
              f"cached {ms_fmt(warm_ms[-1])} ms, {warm_wall[-1]:.2f} s")
    print(summary)

    results = {}
    for t in range(a.trials):
        for name, vt, cfg, bare in captures:
            r = results.setdefault(name, {"ceil_gbps": [], "ceil_pps": [], "vt_gbps": [], "vt_pps": [], "bare_gbps": [],
                                          "bare_pps": [], "start_s": [], "ratio": [], "vs_bare": [],
                                          "cand_per_scan": [], "core_gbps": [], "core_ratio": [],
                                          "bare_core_gbps": [], "busy": []})
            c = run_ceiling(ceiling, cfg, vt, a.repeat, worker_cpu)
            s, start_s = run_vtapd(vtapd, cfg, os.path.join(work, f"{name}.stats.{t}.json"))
            b, _ = run_vtapd(vtapd, bare, os.path.join(work, f"{name}.norules.stats.{t}.json"))
            el = s["elapsed_s"]
            vt_gbps = s["worker.bytes"] * 8 / el / 1e9
            vt_pps = s["worker.packets"] / el
            r["ceil_gbps"].append(c["gbps"]), r["ceil_pps"].append(c["pps"])
            r["vt_gbps"].append(vt_gbps), r["vt_pps"].append(vt_pps)
            r["bare_gbps"].append(b["worker.bytes"] * 8 / b["elapsed_s"] / 1e9)
            r["bare_pps"].append(b["worker.packets"] / b["elapsed_s"])
            r["start_s"].append(start_s)
            busy_s = s["worker.busy_cycles"] / s["tsc_hz"]
            r["core_gbps"].append(s["worker.bytes"] * 8 / busy_s / 1e9)
            r["core_ratio"].append(r["core_gbps"][-1] / c["gbps"])
            r["bare_core_gbps"].append(b["worker.bytes"] * 8 / (b["worker.busy_cycles"] / b["tsc_hz"]) / 1e9)
            r["busy"].append(busy_s / el)
            r["ratio"].append(vt_gbps / c["gbps"])
            r["vs_bare"].append(vt_gbps / r["bare_gbps"][-1])
            scans = s["detect.packet_scans"] + s["detect.stream_scans"]
            r["cand_per_scan"].append(s["detect.candidates"] / scans if scans else 0)
            # The ceiling must have scanned what vtapd scanned.
            same = (c["packets"] == s["decap.delivered"] and c["inner_bytes"] == s["worker.bytes"])
            scanned = c["block_bytes"] + c["stream_bytes"]
            print(f"trial {t + 1} {name}: vtapd {vt_gbps:.3f} Gbit/s {vt_pps:,.0f} pps "
                  f"(elapsed {el:.3f} s, start {start_s:.2f} s); ceiling {c['gbps']:.3f} Gbit/s {c['pps']:,.0f} pps "
                  f"(scan {c['scan_s'] * 1e3:.1f} ms); ratio {vt_gbps / c['gbps']:.3f}; no rules {r['bare_gbps'][-1]:.3f} Gbit/s"
                  f"; worker busy {r['busy'][-1]:.2f}, core {r['core_gbps'][-1]:.3f} Gbit/s = {r['core_ratio'][-1]:.3f} of ceiling"
                  f"; candidates/scan {r['cand_per_scan'][-1]:.1f}; detect.bytes {s['detect.bytes']:,} (stream {s['detect.stream_bytes']:,}) vs ceiling {scanned:,} (stream {c['stream_bytes']:,})"
                  + ("" if same else f"  MISMATCH: ceiling {c['packets']} packets {c['inner_bytes']} B, vtapd "
                                      f"{s['decap.delivered']} packets {s['worker.bytes']} B"))
            r["last"] = {"stats": s, "ceiling": c}

    # Per-flow state, from the last trial of the first capture.
    s, c = results[captures[0][0]]["last"]["stats"], results[captures[0][0]]["last"]["ceiling"]
    cap = c["flow_capacity"]
    table_per_flow = s["flow.memory_bytes"] / cap  # flows + index + out-of-order segment pool, per slot
    handles = 2 * c["stream_handle_bytes"]          # DetectStage preallocates two per flow slot
    per_stream = s["detect.stream_memory_bytes"] / s["detect.streams_active"] if s["detect.streams_active"] else 0
    hs_state = c["hs_stream_state_bytes"]
    window = per_stream - hs_state if per_stream else 0

    print()
    print(f"## vtapd, 1 worker, all loadable ET Open rules ({summary}), medians of {a.trials} trials")
    print()
    print("| capture | vtapd inner Gbit/s | vtapd pps | ceiling Gbit/s | ceiling pps | ratio to ceiling "
          "| vtapd, no rules, Gbit/s | ratio to no rules | candidates / scan | worker busy "
          "| worker core Gbit/s | core ratio to ceiling | worker core, no rules, Gbit/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    out = {"trials": a.trials, "summary": summary, "captures": {}}
    for name, _, _, _ in captures:
        r = results[name]
        row = {k: median(v) for k, v in r.items() if k != "last"}
        out["captures"][name] = row
        print(f"| {name} | {row['vt_gbps']:.3f} | {row['vt_pps']:,.0f} | {row['ceil_gbps']:.2f} | {row['ceil_pps']:,.0f} "
              f"| {row['ratio']:.3f} | {row['bare_gbps']:.3f} | {row['vs_bare']:.2f} | {row['cand_per_scan']:.1f} "
              f"| {row['busy']:.2f} | {row['core_gbps']:.3f} | {row['core_ratio']:.3f} | {row['bare_core_gbps']:.3f} |")
    print()
    start = median([x for r in results.values() for x in r["start_s"]])
    # The start a deployment sees: its port is a NIC, not a capture read into
    # memory first (the preload is the benchmark's, ~0.2 s for ndpi-mix-ether).
    file_cfg = os.path.join(work, captures[0][0] + ".file-start.yaml")
    write_config(file_cfg, captures[0][1], rules, classification, cache, "", f"e2edet{os.getpid()}", a.home_net,
                 preload=False, stream_prealloc=a.stream_prealloc)
    file_start = median([start_only(vtapd, file_cfg, os.path.join(work, "file-start.stats.json"))
                         for _ in range(max(3, a.trials))])
    print(f"cold compile: {median(cold_ms):.0f} ms (vtapd --test-rules, rules parsed + compiled: {median(cold_wall):.2f} s); "
          f"cached: {median(warm_ms):.0f} ms ({median(warm_wall):.2f} s); cached start to 'running' "
          f"(EAL, ports, rules): {start:.2f} s with the capture preloaded, {file_start:.2f} s with the port "
          f"reading its file (no preload: as a NIC port starts)")
    print(f"state per flow: flow table {c['flow_entry_bytes']} B/flow (entry + index), "
          f"{table_per_flow:.0f} B/slot with the out-of-order segment pool; stream handles 2 x {c['stream_handle_bytes']} B; "
          f"per active stream: {per_stream:.0f} B = Hyperscan stream state {hs_state} B + confirmation window {window:.0f} B "
          f"({s['detect.streams_active']} streams active at the end of {captures[0][0]})")
    out.update({"cold_compile_ms": median(cold_ms), "cold_test_rules_s": median(cold_wall),
                "cached_compile_ms": median(warm_ms), "cached_test_rules_s": median(warm_wall),
                "cached_start_s": start, "cached_start_no_preload_s": file_start, "flow_entry_bytes": c["flow_entry_bytes"],
                "flow_table_bytes_per_slot": table_per_flow, "stream_handle_bytes": c["stream_handle_bytes"],
                "stream_bytes_per_active_stream": per_stream, "hs_stream_state_bytes": hs_state, "window_bytes": window})
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    if not a.work:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def ms_fmt(ms):
    return f"{ms:.0f}"


if __name__ == "__main__":
    sys.exit(main())
