#!/usr/bin/python3
"""Integration: bench/detect_ceiling scans exactly the bytes vtapd's worker
hands to Hyperscan. On synthetic VTAP captures (vtap-pcap synth, planted
signature) with rules that accept every port (so no port gate skips a scan),
the ceiling's packets, inner bytes, block + stream bytes and stream bytes
must equal vtapd's decap.delivered, worker.bytes, detect.bytes and
detect.stream_bytes, offline with one worker: frames in one mbuf, jumbo
frames spread over several (the worker scans the first segment) and jumbo
frames from a preloaded port (one mbuf each). And it refuses a
configuration that loads no rules.

usage: detect_ceiling_test.py VTAPD VTAP_PCAP DETECT_CEILING
"""
import json
import os
import subprocess
import sys
import tempfile

RULES = """\
alert tcp any any -> any any (msg:"plant, stream"; content:"vtap-ceiling-plant"; sid:1; rev:1;)
alert tcp any any -> any any (msg:"http response, stream"; flow:to_client; content:"HTTP/1.1 200"; sid:2; rev:1;)
alert udp any any -> any any (msg:"dns"; content:"|00 01 00 00|"; sid:3; rev:1;)
alert tcp-pkt any any -> any any (msg:"plant, packet"; content:"vtap-ceiling-plant"; sid:4; rev:1;)
"""


def check(cond, what):
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)


def config(d, pcap, rules, preload=False, data_room=9216 + 50 + 128):
    path = os.path.join(d, ("vtapd" if rules else "norules") + ("-preload" if preload else "") + f"-{data_room}.yaml")
    with open(path, "w") as f:
        json.dump({
            "eal": {"args": ["--no-huge", "-m", "512", "--no-shconf", f"--file-prefix=ceiltest{os.getpid()}",
                             "--log-level=lib.eal:error"]},
            "ports": [{"driver": "pcap", "pcap_file": pcap, "preload": preload}],
            "decap": {"tap_sources": ["0.0.0.0/0"]},
            "mempool": {"mbufs": 4095, "data_room": data_room},
            "pipeline": {"rx_lcores": 1, "workers": 1},
            "stats": {"telemetry": False},
            "detect": {"rule_files": [rules] if rules else []},
            "alerts": {"eve": ""},
        }, f)
    return path


def compare(vtapd, ceiling, d, pcap, cfg, name):
    stats_file = os.path.join(d, "stats.json")
    r = subprocess.run([vtapd, "-c", cfg, "--stats-file", stats_file], capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"{name}: vtapd exit {r.returncode}: {r.stderr[-1500:]}")
    with open(stats_file) as f:
        s = json.load(f)
    r = subprocess.run([ceiling, "-c", cfg, "--pcap", pcap, "--repeat", "1"], capture_output=True, text=True,
                       timeout=60)
    check(r.returncode == 0, f"{name}: detect_ceiling exit {r.returncode}: {r.stderr[-1500:]}")
    c = json.loads(r.stdout)
    check(c["packets"] == s["decap.delivered"] > 0, f"{name}: packets {c['packets']} vs decap.delivered {s['decap.delivered']}")
    check(c["inner_bytes"] == s["worker.bytes"], f"{name}: inner bytes {c['inner_bytes']} vs worker.bytes {s['worker.bytes']}")
    check(c["block_bytes"] > 0 and c["stream_bytes"] > 0 and c["streams"] > 0,
          f"{name}: both block and stream scans were recorded: {c}")
    check(c["block_bytes"] + c["stream_bytes"] == s["detect.bytes"],
          f"{name}: scanned bytes {c['block_bytes']} + {c['stream_bytes']} vs detect.bytes {s['detect.bytes']}")
    check(c["stream_bytes"] == s["detect.stream_bytes"],
          f"{name}: stream bytes {c['stream_bytes']} vs detect.stream_bytes {s['detect.stream_bytes']}")
    check(s["detect.matches"] > 0, f"{name}: the planted signature matched in vtapd (the rules are live)")
    check(c["scan_s"] > 0 and c["gbps"] > 0 and c["hs_errors"] == 0, f"{name}: a timed, error-free scan: {c}")
    print(f"{name}: {c['packets']} packets, {c['block_bytes'] + c['stream_bytes']} bytes scanned by both")
    return c, s


def main():
    vtapd, vtap_pcap, ceiling = sys.argv[1:4]
    with tempfile.TemporaryDirectory(prefix="vtap-ceiling-test.") as d:
        pcap = os.path.join(d, "synth.pcap")
        subprocess.run([vtap_pcap, "synth", "--out", pcap, "--flows", "300", "--size", "imix", "--seed", "3",
                        "--plant", "vtap-ceiling-plant", "--plant-rate", "0.2"], check=True, stdout=subprocess.DEVNULL)
        rules = os.path.join(d, "any.rules")
        with open(rules, "w") as f:
            f.write(RULES)
        # Frames in one mbuf (net_pcap, data_room above the largest frame);
        # jumbo frames over several (net_pcap, default data_room: the worker
        # scans the first segment); and preloaded (each frame whole in one
        # mbuf, whatever data_room says).
        jumbo = os.path.join(d, "jumbo.pcap")
        subprocess.run([vtap_pcap, "synth", "--out", jumbo, "--flows", "60", "--size", "jumbo", "--seed", "4",
                        "--plant", "vtap-ceiling-plant", "--plant-rate", "0.2"], check=True, stdout=subprocess.DEVNULL)
        for name, cap, preload, room, multi in (("one segment", pcap, False, 9216 + 50 + 128, False),
                                                ("jumbo, segmented", jumbo, False, 2048 + 128, True),
                                                ("jumbo, preloaded", jumbo, True, 2048 + 128, False)):
            c, s = compare(vtapd, ceiling, d, cap, config(d, cap, rules, preload, room), name)
            check((s["detect.multi_segment"] > 0) == multi, f"{name}: detect.multi_segment {s['detect.multi_segment']}")
        r = subprocess.run([ceiling, "-c", config(d, pcap, None), "--pcap", pcap], capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == 2 and "no rules" in r.stderr, f"refuses a config without rules: {r.returncode} {r.stderr}")
    print("ok")


if __name__ == "__main__":
    main()
