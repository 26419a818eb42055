#!/usr/bin/python3
"""Scaling curves for vtapd fed live by vtap-gen (JSON + PNG under bench/results/).

Every point: vtap-gen sends N frames unpaced (--retry: as fast as the link
takes them) over the veth pair of bench/zero_loss.py; the receiver's rate is
what it received and processed (rx.packets - drops.total) over the
generator's sending time. Curves: vs rules (0, 100, 1000, all loadable ET
Open), vs concurrent flows (1k, 100k, 1M), vs workers. Baselines measured in
the same run: dpdk-testpmd rxonly on the same vdev (net_af_packet) fed by the
same generator command (the receive ceiling), and bench/detect_bench's raw
Hyperscan figures (the detection ceiling; its payloads are corpus traffic,
not these frames). Memory at the largest flow count: vtapd's peak RSS
(VmHWM), the mempool it was given, and the flow table it was configured with.

  bench/scaling.py [-b BUILD] [--frames N] [--curves rules,flows,workers] [--out bench/results]
"""
import argparse
import glob
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import zero_loss as zl  # noqa: E402  (Link, Vtapd, gen_cmd)

ET_DIR = os.environ.get("VTAP_CORPUS", "/work/shared/corpus") + "/rules/et-open-suricata-5.0_2024-04-21"


def first_rules(src_files, n, path):
    """The first n rule lines of the files (all of them when n is None) into path."""
    out = []
    for f in src_files:
        with open(f, errors="replace") as fh:
            for line in fh:
                if line.startswith("alert "):
                    out.append(line)
                    if n is not None and len(out) >= n:
                        break
        if n is not None and len(out) >= n:
            break
    with open(path, "w") as fh:
        fh.writelines(out)
    return len(out)


def vmhwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            m = re.search(r"VmHWM:\s+(\d+) kB", f.read())
            return int(m.group(1)) if m else 0
    except OSError:
        return 0


def vtapd_point(a, vtapd, workers, tag):
    vtapd.start(workers, tag)
    t0 = time.time()
    try:
        g = subprocess.run(zl.gen_cmd(a, a.size, a.frames, 0, tag), capture_output=True, text=True, timeout=900)
    finally:
        time.sleep(a.settle_s)
        # vtapd is our child in the root namespace: read its peak RSS before it exits.
        hwm = vmhwm_kb(vtapd.proc.pid)
        stats = vtapd.stop()
    if g.returncode != 0:
        raise RuntimeError(f"vtap-gen failed: {g.stderr[-500:]}")
    gen = json.loads([l for l in g.stdout.splitlines() if l.startswith("{")][-1])
    send_s = gen["seconds"]
    processed = stats.get("rx.packets", 0) - stats.get("drops.total", 0)
    return {"workers": workers, "gen_sent": gen["sent"], "gen_pps": gen["pps"], "gen_build_s": gen["build_s"],
            "received": stats.get("rx.packets", 0), "processed": processed,
            "pps": processed / send_s if send_s else 0, "loss": 1 - processed / gen["sent"] if gen["sent"] else 0,
            "flows_sent": gen["flows"], "vtapd_flows": stats.get("worker.flows", 0),
            "alerts": stats.get("alert.generated", 0), "peak_rss_mb": hwm / 1024,
            "drops": zl.losses(stats), "wall_s": time.time() - t0,
            # vtapd's own memory accounting (summed over workers).
            "flow_memory_mb": stats.get("flow.memory_bytes", 0) / 2**20,
            "streams_active": stats.get("detect.streams_active", 0),
            "stream_memory_mb": stats.get("detect.stream_memory_bytes", 0) / 2**20}


def testpmd_point(a, tag):
    """testpmd rxonly on net_af_packet over the same link, fed by the same generator command."""
    prefix = f"vsc{os.getpid()}{tag}"
    cmd = ["dpdk-testpmd", "--no-huge", "-m", "1024", "--no-shconf", "--no-pci", "-l", "0,1", f"--file-prefix={prefix}",
           "--log-level=lib.eal:error", "--vdev", f"net_af_packet0,iface={a.link.host},{zl.RX_RING}", "--",
           "-i", "--forward-mode=rxonly", "--total-num-mbufs=32768"]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    p.stdin.write("start\n")
    p.stdin.flush()
    time.sleep(3)
    g = subprocess.run(zl.gen_cmd(a, a.size, a.frames, 0, tag), capture_output=True, text=True, timeout=900)
    time.sleep(a.settle_s)
    out, _ = p.communicate("stop\nquit\n", timeout=60)
    gen = json.loads([l for l in g.stdout.splitlines() if l.startswith("{")][-1])
    rx = [int(x) for x in re.findall(r"RX-packets:\s+(\d+)", out)]
    got = rx[-1] if rx else 0
    return {"gen_sent": gen["sent"], "gen_pps": gen["pps"], "received": got,
            "pps": got / gen["seconds"] if gen["seconds"] else 0}


def detect_ceiling(a):
    exe = os.path.join(a.build, "bench/detect_bench")
    if not os.path.exists(exe):
        return {}
    r = subprocess.run([exe, "--benchmark_filter=BM_RawHyperscan", "--benchmark_format=json",
                        "--benchmark_min_time=0.2"], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        return {"error": r.stderr[-300:]}
    doc = json.loads(r.stdout)
    return {b["name"]: {"items_per_second": b.get("items_per_second"), "bytes_per_second": b.get("bytes_per_second")}
            for b in doc["benchmarks"]}


def versions():
    def out(cmd):
        try:
            return subprocess.run(cmd, capture_output=True, text=True, shell=True).stdout.strip()
        except OSError:
            return ""
    cpu = out("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    return {"machine": f"{platform.node()} {cpu}, {os.cpu_count()} CPUs",
            "load_avg": os.getloadavg(),
            "kernel": platform.release(),
            "dpdk": out("pkg-config --modversion libdpdk"),
            "hyperscan": out("pkg-config --modversion libhs"),
            "compiler": out("c++ --version | head -1"),
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def plot(doc, out_dir):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    curves = doc["curves"]
    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 4), squeeze=False)
    base = doc.get("testpmd", {}).get("pps")
    for ax, (name, pts) in zip(axes[0], curves.items()):
        xs = [str(p["x"]) for p in pts]
        bars = ax.bar(xs, [p["pps"] / 1e3 for p in pts], color="tab:blue", label="vtapd processed")
        ax.plot(xs, [p["gen_pps"] / 1e3 for p in pts], "k^", label="offered (vtap-gen)")
        for b, pt in zip(bars, pts):
            ax.annotate(f"loss {pt['loss']:.0%}", (b.get_x() + b.get_width() / 2, b.get_height()),
                        ha="center", va="bottom", fontsize=7)
        if base:
            ax.axhline(base / 1e3, color="tab:red", linestyle="--", label="testpmd rxonly (same link)")
        ax.set_title(f"throughput vs {name}")
        ax.set_xlabel(name)
        ax.set_ylabel("kpps")
        ax.legend(fontsize=7)
    fig.suptitle(f"vtapd over veth+net_af_packet, {doc['size']} inner frames, {doc['versions']['machine']}", fontsize=8)
    fig.tight_layout()
    path = os.path.join(out_dir, "scaling.png")
    fig.savefig(path, dpi=100)
    return path


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-b", "--build", default=os.path.join(zl.ROOT, "build"))
    p.add_argument("--frames", type=int, default=1_000_000, help="frames per point")
    p.add_argument("--size", default="imix", choices=list(zl.SIZES))
    p.add_argument("--curves", default="rules,flows,workers")
    p.add_argument("--flow-points", default="1000,100000,1000000")
    p.add_argument("--rule-points", default="0,100,1000,all")
    p.add_argument("--worker-points", default="")
    p.add_argument("--flow-rules", default="", help="rules for the flows curve: '' (none), N first ET Open rules, or all")
    # On a 2-CPU machine the generator spins on one CPU; running vtapd to
    # completion (0 workers) gives its RX + work the other one alone.
    p.add_argument("--curve-workers", type=int, default=0, help="workers for the rules and flows curves")
    p.add_argument("--out", default=os.path.join(zl.ROOT, "bench/results"))
    p.add_argument("--settle-s", type=float, default=1.0)
    a = p.parse_args()
    a.gen = os.path.join(a.build, "apps/vtap-gen/vtap-gen")
    a.vtapd = os.path.join(a.build, "apps/vtapd/vtapd")
    # zero_loss.Vtapd / gen_cmd read these.
    a.remote, a.gen_port, a.gen_eal, a.outer_dst_mac, a.collector = "", "", "", "", ""
    a.vtapd_mem, a.seed, a.mode, a.plant, a.plant_rate = "3072", 1, "copy", "", 0.0
    a.retry, a.mix = True, ""
    a.classification = os.path.join(ET_DIR, "classification.config")
    if not os.path.exists(a.classification):
        a.classification = ""
    ncpu = os.cpu_count() or 1
    workers_pts = [int(w) for w in a.worker_points.split(",")] if a.worker_points else list(range(0, ncpu + 1))
    os.makedirs(a.out, exist_ok=True)
    doc = {"command": " ".join(sys.argv), "versions": versions(), "size": a.size, "frames": a.frames,
           "link": "veth + net_af_packet (both ends)", "curves": {}}
    et = sorted(glob.glob(os.path.join(ET_DIR, "*.rules")))

    def log(*x):
        print("#", *x, file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="vtap-sc.") as work, zl.Link(os.getpid() % 10000, 1600) as link:
        a.link = link
        vtapd = zl.Vtapd(a, work)

        def setup(flows, rules_path, mix=""):
            a.flows, a.rules, a.mix = flows, rules_path, mix
            a.prebuild_max = a.frames
            a.flow_table = max(65536, 1 << (int(flows * 1.5) - 1).bit_length())

        setup(1000, "")
        doc["testpmd"] = testpmd_point(a, "tp")
        log("testpmd rxonly", doc["testpmd"])
        curves = a.curves.split(",")
        if "rules" in curves:
            pts = []
            for r in a.rule_points.split(","):
                if r != "0" and not et:
                    log(f"rules {r}: skipped, no ET Open rules under {ET_DIR}")
                    continue
                path = ""
                n = 0
                if r != "0":
                    path = os.path.join(work, f"rules{r}.rules")
                    n = first_rules(et, None if r == "all" else int(r), path)
                setup(1000, path)
                pt = vtapd_point(a, vtapd, a.curve_workers, f"r{r}")
                pt.update(x=r if r != "all" else f"all ET ({n} in file)", rules_in_file=n)
                log("rules", r, pt)
                pts.append(pt)
            doc["curves"]["rules"] = pts
        if "flows" in curves:
            pts = []
            flow_rules = ""
            if a.flow_rules and et:
                flow_rules = os.path.join(work, "flow_rules.rules")
                first_rules(et, None if a.flow_rules == "all" else int(a.flow_rules), flow_rules)
            for f in [int(x) for x in a.flow_points.split(",")]:
                # DNS-only conversations (2-4 frames each), so a million flows
                # fit in the generator's store; at least 4 frames per flow so
                # every conversation is sent.
                setup(f, flow_rules, "0,0,1,0")
                saved = a.frames
                a.frames = max(a.frames, 4 * f)
                a.prebuild_max = a.frames
                pt = vtapd_point(a, vtapd, a.curve_workers, f"f{f}")
                a.frames = saved
                pt.update(x=f, flow_table_size=a.flow_table, rules=a.flow_rules or "none",
                          mempool_mb=32767 * (2176 + 128 + 128) / 2**20)
                log("flows", f, pt)
                pts.append(pt)
            doc["curves"]["flows"] = pts
        if "workers" in curves:
            pts = []
            for w in workers_pts:
                setup(1000, "")
                pt = vtapd_point(a, vtapd, w, f"w{w}")
                pt.update(x=w)
                log("workers", w, pt)
                pts.append(pt)
            doc["curves"]["workers"] = pts
    doc["hyperscan_raw"] = detect_ceiling(a)
    base = doc["testpmd"]["pps"]
    for pts in doc["curves"].values():
        for pt in pts:
            pt["ratio_to_testpmd"] = pt["pps"] / base if base else None
    path = os.path.join(a.out, "scaling.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    png = plot(doc, a.out)
    print(json.dumps({"json": path, "png": png}))


if __name__ == "__main__":
    main()
