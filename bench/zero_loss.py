#!/usr/bin/python3
"""Zero-loss rate search (RFC 2544 style) for vtapd fed by vtap-gen.

Each trial starts vtapd, offers `rate * trial seconds` frames from vtap-gen at
`rate` (TSC-paced), stops vtapd and reads its --stats-file. A trial passes
when vtap-gen's port took every frame (rejected == 0), vtapd received exactly
what was sent, and every vtapd drop counter is zero. Frames that are not the
generator's (ARP, neighbour discovery, load-balancer probes, excluded tap
sources: see FOREIGN) are reported as "foreign" and left out of both. A binary search between
0 and the generator's unpaced rate finds the highest passing rate, per inner
packet size and per worker count.

Local link: a veth pair in a network namespace this script creates
(vtapd on net_af_packet on one end, vtap-gen on net_af_packet on the other).
net_memif was the first choice; see bench/README.md for why it is not used.

Remote (two VMs, e.g. scripts/azure/bench): run this on the generator VM with
  --remote USER@HOST --remote-vtapd PATH --remote-config CONF
  --gen-port DEV[,ARGS] --gen-eal "EAL args" --outer-dst-mac MAC --collector IP
  [--tap-src SENDER_IP --outer-src-mac SENDER_MAC] [--remote-sudo]
vtapd runs on HOST over ssh with CONF (its real port), the generator sends
out of DEV; counters come back over ssh.

  bench/zero_loss.py [-b BUILD] [--sizes 64,imix,1500,9000] [--workers 1,2]
                     [--trial-s S] [--precision F] [--short] [--json OUT]
Prints one JSON document (per size and worker count: the zero-loss rate and
every trial). --short: a 3-trial search at tiny rates for the test suite.
"""
import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Inner frame sizes as vtap-gen --size values (64-byte inner frames: "fixed:64").
SIZES = {"64": "fixed:64", "imix": "imix", "1500": "fixed:1514", "9000": "jumbo"}

# vtapd counters that must be zero in a passing trial besides drops.total:
# anything counting frames lost or refused.
# net_af_packet ring geometry that holds a 9 KB frame (both ends of jumbo trials).
JUMBO_RING = "blocksz=16384,framesz=16384,framecnt=1024"
# Receive ring of the other sizes: 8192 frames (the PMD's default is 512) so a
# receiver descheduled for a few ms on a shared machine does not overflow it.
RX_RING = "blocksz=4096,framesz=2048,framecnt=8192"

LOSS_WORDS = ("drop", "missed", "ring_full", "nombuf", "ierrors", "table_full", "overflow")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


class Link:
    """A veth pair: `host` end in the root namespace for vtapd, `peer` in netns `ns` for vtap-gen."""

    def __init__(self, tag, mtu):
        self.ns, self.host, self.peer = f"vzl{tag}", f"vzl{tag}h", f"vzl{tag}p"
        self.mtu = mtu

    def __enter__(self):
        self.close()
        for c in (f"ip netns add {self.ns}",
                  f"ip link add {self.host} mtu {self.mtu} type veth peer name {self.peer} mtu {self.mtu}",
                  f"ip link set {self.peer} netns {self.ns}",
                  # No addresses and no IPv6: the kernel sends nothing of its own
                  # (router solicitations would reach vtapd as non-VXLAN frames).
                  f"sysctl -qw net.ipv6.conf.{self.host}.disable_ipv6=1",
                  f"ip netns exec {self.ns} sysctl -qw net.ipv6.conf.{self.peer}.disable_ipv6=1",
                  f"ip link set {self.host} up",
                  f"ip -n {self.ns} link set {self.peer} up"):
            sh(shlex.split(c))
        return self

    def close(self):
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)
        subprocess.run(["ip", "link", "del", self.host], capture_output=True)

    def __exit__(self, *a):
        self.close()


class Vtapd:
    """Starts vtapd for one trial, locally or over ssh, and returns its final counters."""

    def __init__(self, args, work):
        self.a, self.work = args, work

    def config(self, workers, prefix):
        a = self.a
        path = os.path.join(self.work, "vtapd.yaml")
        rules = f"detect:\n  rule_files: [{a.rules}]\n" if a.rules else ""
        if a.rules and getattr(a, "classification", ""):
            rules += f"  classification_file: {a.classification}\n"
        # main (mostly asleep) and the RX lcore, then workers dealt over the CPUs.
        ncpu = os.cpu_count() or 1
        # Jumbo trials: the af_packet ring frames must hold 9 KB. Setting `mtu`
        # would size them, but net_af_packet reports a 1518-byte max frame and
        # rte_eth_dev_configure refuses it, so the ring geometry goes in devargs.
        jumbo = a.link.mtu > 1600
        mtu = f"    devargs: '{JUMBO_RING if jumbo else RX_RING}'\n"
        lcores = ",".join(f"{i}@{i % ncpu}" for i in range(2 + workers))
        with open(path, "w") as f:
            f.write(f"""eal:
  args: [--no-huge, -m, '{a.vtapd_mem}', '--lcores={lcores}', --no-shconf, --no-pci, --file-prefix={prefix}, '--log-level=lib.eal:error']
ports:
  - driver: af_packet
    iface: {a.link.host}
    promiscuous: true
{mtu}decap:
  tap_sources: [198.18.0.0/15]
pipeline:
  workers: {workers}
  ring_size: 8192
  flow_table_size: {a.flow_table}
mempool:
  mbufs: 32767
  data_room: {16512 if jumbo else 2176}
stats:
  telemetry: false
{rules}""")
        return path

    def start(self, workers, tag):
        a = self.a
        if a.remote:
            self.stats = f"/tmp/vtap-zl-{os.getpid()}.json"
            # --remote-sudo: vtapd (and so its pid and stats file) is root's;
            # `$$` is then sudo's pid, which relays the SIGTERM to vtapd.
            sudo = "sudo -n " if a.remote_sudo else ""
            remote = (f"{sudo}rm -f {self.stats}; echo $$ > {self.stats}.pid; exec {sudo}{shlex.quote(a.remote_vtapd)} "
                      f"-c {shlex.quote(a.remote_config)} --workers {workers} --stats-file {self.stats}")
            cmd = ["ssh", a.remote, remote]
        else:
            self.stats = os.path.join(self.work, "stats.json")
            if os.path.exists(self.stats):
                os.unlink(self.stats)
            cmd = [a.vtapd, "-c", self.config(workers, f"vzl{os.getpid()}{tag}"), "--workers", str(workers),
                   "--stats-file", self.stats]
        self.log = open(os.path.join(self.work, "vtapd.log"), "w+")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        # vtapd prints its port notes once the port runs; wait for a quiet start.
        deadline = time.time() + 30
        while time.time() < deadline:
            self.log.seek(0)
            out = self.log.read()
            if self.proc.poll() is not None:
                raise RuntimeError("vtapd exited at start:\n" + out[-2000:])
            if "vtapd: running" in out:
                break
            time.sleep(0.1)
        time.sleep(a.settle_s)

    def stop(self):
        a = self.a
        if a.remote:
            sudo = "sudo -n " if a.remote_sudo else ""
            subprocess.run(["ssh", a.remote, f"{sudo}kill -TERM $(cat {self.stats}.pid)"], capture_output=True)
        else:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise RuntimeError("vtapd did not stop within 30 s of SIGTERM")
        if a.remote:
            text = sh(["ssh", a.remote, ("sudo -n " if a.remote_sudo else "") + f"cat {self.stats}"]).stdout
        else:
            with open(self.stats) as f:
                text = f.read()
        return json.loads(text)


def gen_cmd(a, size, count, rate_pps, tag):
    port = a.gen_port or f"net_af_packet0,iface={a.link.peer}" + (f",{JUMBO_RING}" if size == "9000" else "")
    eal = shlex.split(a.gen_eal) if a.gen_eal else [
        "--no-huge", "-m", "1024", "--no-pci", "--no-shconf", f"--file-prefix=vzg{os.getpid()}{tag}",
        "--log-level=lib.eal:error", "--no-telemetry"]
    cmd = [a.gen, "--port", port, "--flows", str(a.flows), "--seed", str(a.seed), "--size", SIZES[size],
           "--count", str(count), "--mode", a.mode, "--prebuild-max", str(a.prebuild_max)]
    if size == "9000" and not a.gen_port:
        cmd += ["--data-room", "16384"]
    if getattr(a, "mix", ""):
        cmd += ["--mix", a.mix]
    if getattr(a, "retry", False):
        cmd += ["--retry"]
    if a.plant:
        cmd += ["--plant", a.plant, "--plant-rate", str(a.plant_rate)]
    if a.outer_dst_mac:
        cmd += ["--outer-dst-mac", a.outer_dst_mac]
    if a.collector:
        cmd += ["--collector", a.collector]
    # Two VMs: the cloud drops frames whose outer source address or MAC is
    # not the sender NIC's, and vtapd counts an outer source outside
    # decap.tap_sources as a drop.
    if getattr(a, "tap_src", None):  # scaling.py passes its own namespace
        cmd += ["--tap-src", a.tap_src]
    if getattr(a, "outer_src_mac", None):
        cmd += ["--outer-src-mac", a.outer_src_mac]
    if rate_pps:
        cmd += ["--pps", f"{rate_pps:.0f}"]
    cmd += ["--"] + eal
    if not a.remote and not a.gen_port:
        cmd = ["ip", "netns", "exec", a.link.ns] + cmd
    return cmd


# Frames that are not the generator's VTAP traffic: on Azure the collector's
# NIC also receives ARP, IPv6 neighbour discovery and the load balancer's
# health probes (handed to the kernel: decap.diverted, or refused as not
# VXLAN), and tap sources or VNIs the configuration excludes. They are
# neither sent by vtap-gen nor lost, so they are taken out of "received"
# and of drops.total before the exact comparison.
FOREIGN = ("decap.diverted", "decap.not_ipv4", "decap.not_udp", "decap.wrong_port", "decap.source_denied",
           "decap.vni_denied")
FOREIGN_DROPS = FOREIGN[1:]


def foreign(stats):
    return sum(int(stats.get(k, 0)) for k in FOREIGN)


def received(stats):
    """Frames of the generator's traffic that reached vtapd."""
    return int(stats.get("rx.packets", 0)) - foreign(stats)


def losses(stats):
    out = {k: v for k, v in stats.items()
           if v and k not in ("decap.delivered", "drops.total") and any(w in k for w in LOSS_WORDS)}
    own_drops = int(stats.get("drops.total", 0)) - sum(int(stats.get(k, 0)) for k in FOREIGN_DROPS)
    if own_drops:
        out["drops.total (less foreign frames)"] = own_drops
    return out


def send_foreign(a):
    """--foreign N (local link only): N frames that are not VTAP traffic, sent
    from the generator's side before it starts, a third each of ARP requests
    (decap.not_ipv4), ICMP (decap.not_udp) and UDP to port 53
    (decap.wrong_port): what a collector NIC sees besides the tap stream."""
    script = f"""
from scapy.all import ARP, ICMP, IP, UDP, Ether, sendp
# Explicit MACs: with Ether() alone scapy resolves the IP destination by ARP
# first, and those requests would be foreign frames too, a varying number.
mac = dict(src="02:00:00:00:09:02", dst="02:00:00:00:09:01")
kinds = [Ether(src=mac["src"], dst="ff:ff:ff:ff:ff:ff") / ARP(pdst="198.18.9.1"),
         Ether(**mac) / IP(src="198.18.9.2", dst="198.18.9.1") / ICMP(),
         Ether(**mac) / IP(src="198.18.9.2", dst="198.18.9.1") / UDP(sport=5353, dport=53)]
sendp([kinds[i % 3] for i in range({a.foreign})], iface="{a.link.peer}", verbose=0)
"""
    sh(["ip", "netns", "exec", a.link.ns, "/usr/bin/python3", "-c", script])


def trial(a, vtapd, size, workers, rate_pps, tag):
    count = max(int(rate_pps * a.trial_s), 1) if rate_pps else a.max_count
    vtapd.start(workers, tag)
    try:
        if a.foreign:
            send_foreign(a)
        g = subprocess.run(gen_cmd(a, size, count, rate_pps, tag), capture_output=True, text=True, timeout=600)
    finally:
        time.sleep(a.settle_s)
        stats = vtapd.stop()
    if g.returncode != 0:
        raise RuntimeError(f"vtap-gen failed ({g.returncode}): {g.stderr.strip()}")
    gen = json.loads([l for l in g.stdout.splitlines() if l.startswith("{")][-1])
    rx = received(stats)
    lost = losses(stats)
    ok = gen["rejected"] == 0 and rx == gen["sent"] and not lost
    return {"offered_pps": rate_pps, "offered": gen["offered"], "sent": gen["sent"], "rejected": gen["rejected"],
            "gen_pps": gen["pps"], "gen_gbps": gen["gbps"], "received": rx,
            "delivered": stats.get("decap.delivered", 0), "foreign": foreign(stats),
            "foreign_by": {k: int(stats[k]) for k in FOREIGN if int(stats.get(k, 0))}, "losses": lost, "zero_loss": ok,
            "flows_sent": gen["flows"], "planted_sent": gen["planted"], "pacer_slips": gen["slips"],
            "elapsed_s": stats.get("elapsed_s", 0)}


def search(a, vtapd, size, workers):
    trials = []
    n = 0

    def run(rate):
        nonlocal n
        n += 1
        t = trial(a, vtapd, size, workers, rate, f"{size}w{workers}t{n}")
        trials.append(t)
        print(f"# size {size} workers {workers}: offered {rate or 'unpaced'} pps -> gen {t['gen_pps']:.0f} pps, "
              f"received {t['received']}/{t['sent']}, rejected {t['rejected']}, losses {t['losses'] or 0}"
              f" -> {'PASS' if t['zero_loss'] else 'FAIL'}", file=sys.stderr, flush=True)
        return t

    if a.short:
        lo, hi = 0.0, float(a.short_max_pps)
    else:
        # The generator's own ceiling bounds the search; if even that loses nothing, it is the answer.
        top = run(0)
        if top["zero_loss"]:
            return {"size": size, "workers": workers, "zero_loss_pps": top["gen_pps"],
                    "zero_loss_gbps": top["gen_gbps"], "limited_by": "generator", "trials": trials}
        lo, hi = 0.0, top["gen_pps"]
    best = None
    for _ in range(a.max_trials if not a.short else 3):
        mid = (lo + hi) / 2
        t = run(mid)
        if t["zero_loss"]:
            lo, best = mid, t
        else:
            hi = mid
        if hi - lo <= a.precision * hi:
            break
    return {"size": size, "workers": workers, "zero_loss_pps": best["gen_pps"] if best else 0.0,
            "zero_loss_gbps": best["gen_gbps"] if best else 0.0, "offered_pps": lo,
            "limited_by": "receiver", "trials": trials}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-b", "--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--sizes", default="64,imix,1500,9000")
    p.add_argument("--workers", default="1")
    p.add_argument("--trial-s", type=float, default=3.0, help="seconds of traffic per trial")
    p.add_argument("--precision", type=float, default=0.05, help="stop when the interval is this fraction of hi")
    p.add_argument("--max-trials", type=int, default=8)
    p.add_argument("--max-count", type=int, default=3_000_000, help="frames in the unpaced ceiling trial")
    p.add_argument("--flows", type=int, default=1000)
    p.add_argument("--flow-table", type=int, default=65536)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--mode", default="copy", choices=["refcnt", "copy", "stream"])
    p.add_argument("--prebuild-max", type=int, default=200_000)
    p.add_argument("--rules", default="", help="rule file for vtapd (default: none)")
    p.add_argument("--plant", default="")
    p.add_argument("--plant-rate", type=float, default=0.0)
    p.add_argument("--settle-s", type=float, default=1.0)
    p.add_argument("--foreign", type=int, default=0,
                   help="also send N non-VTAP frames per trial (local link): they must not count as loss")
    p.add_argument("--vtapd-mem", default="1024")
    p.add_argument("--short", action="store_true", help="3 trials per point at <= --short-max-pps, for tests")
    p.add_argument("--short-max-pps", type=float, default=4000)
    p.add_argument("--json", default="", help="also write the result here")
    p.add_argument("--remote", default="", help="ssh target running vtapd (two-VM mode)")
    p.add_argument("--remote-vtapd", default="vtapd")
    p.add_argument("--remote-config", default="/etc/vtapd/vtapd.yaml")
    p.add_argument("--gen-port", default="", help="generator's port (remote mode: the VF's PCI address)")
    p.add_argument("--gen-eal", default="", help="generator's EAL arguments (remote mode: -a PCI ...)")
    p.add_argument("--outer-dst-mac", default="", help="vtapd VM NIC MAC (remote mode)")
    p.add_argument("--collector", default="", help="vtapd VM address (remote mode)")
    p.add_argument("--tap-src", default="", help="outer source address(es) (remote mode: the sender NIC's)")
    p.add_argument("--outer-src-mac", default="", help="outer source MAC (remote mode: the sender NIC's)")
    p.add_argument("--remote-sudo", action="store_true", help="run vtapd, kill and cat under sudo -n on the remote")
    a = p.parse_args()
    a.gen = os.path.join(a.build, "apps/vtap-gen/vtap-gen")
    a.vtapd = os.path.join(a.build, "apps/vtapd/vtapd")
    sizes = a.sizes.split(",")
    for s in sizes:
        if s not in SIZES:
            p.error(f"size '{s}': want one of {','.join(SIZES)}")
    workers = [int(w) for w in a.workers.split(",")]
    if a.remote and not a.gen_port:
        p.error("--remote needs --gen-port (and usually --gen-eal, --outer-dst-mac, --collector)")
    if a.remote and a.foreign:
        p.error("--foreign sends from the local link's namespace: not with --remote")

    results = []
    with tempfile.TemporaryDirectory(prefix="vtap-zl.") as work:
        vtapd = Vtapd(a, work)
        for size in sizes:
            mtu = 9014 + 64 if size == "9000" else 1600
            if a.remote:
                a.link = None
                results += [search(a, vtapd, size, w) for w in workers]
                continue
            with Link(os.getpid() % 10000, mtu) as link:
                a.link = link
                results += [search(a, vtapd, size, w) for w in workers]
    doc = {"link": "remote" if a.remote else "veth+net_af_packet", "trial_s": a.trial_s, "flows": a.flows,
           "mode": a.mode, "rules": a.rules, "short": a.short, "results": results}
    text = json.dumps(doc, indent=1)
    print(text)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
