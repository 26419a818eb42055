#!/usr/bin/python3
"""Integration: vtap-gen's frames as tshark decodes them, and as they leave a
DPDK port. A generated capture (repeated past one pass with --count) decodes
as VXLAN with exactly the inner conversations and planted frames the summary
claims; the same frames sent out of net_pcap (tx_pcap) in each TX mode are
byte for byte the --out capture's.

usage: vtap_gen_tshark_test.py VTAP_GEN   (exit 77 = skipped: no tshark)
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "gen"))
import vtap_pcap_tshark_test as vt  # noqa: E402  (tshark/pcap helpers and check())

SIG = "vtap-gen-tshark-check"
SYNTH = ["--flows", "40", "--seed", "5", "--size", "fixed:400", "--plant", SIG, "--plant-rate", "0.3",
         "--ipv6-share", "0.2"]
EAL = ["--", "--no-huge", "-m", "256", "--no-shconf", "--no-pci", "-l", "0", "--log-level=lib.eal:error",
       "--no-telemetry"]


def frames_of(path):
    """The frames of a pcap in microsecond or nanosecond (net_pcap's) format."""
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack_from("<I", data, 0)
    vt.check(magic in (0xA1B2C3D4, 0xA1B23C4D), f"{path}: little-endian pcap")
    off, out = 24, []
    while off < len(data):
        caplen, = struct.unpack_from("<I", data, off + 8)
        out.append(data[off + 16:off + 16 + caplen])
        off += 16 + caplen
    return out


def gen(binary, *args):
    r = vt.run(binary, *args)
    vt.check(r.returncode == 0, f"vtap-gen {' '.join(args)}: exit {r.returncode}: {r.stderr[-400:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def capture_checks(binary, tmp):
    one = os.path.join(tmp, "one.pcap")
    s1 = gen(binary, "--out", one, *SYNTH)
    _, recs = vt.read_pcap(one)
    n = len(recs)
    vt.check(s1["sent"] == n and s1["flows"] == 40, f"one pass: {s1}")
    # Two and a half passes: every conversation again, counts scaled exactly.
    many = os.path.join(tmp, "many.pcap")
    count = 2 * n + n // 2
    s = gen(binary, "--out", many, "--count", str(count), *SYNTH)
    vt.check(s["sent"] == count and s["offered"] == count, f"--count {count}: {s}")
    _, mrecs = vt.read_pcap(many)
    vt.check([r[2] for r in mrecs] == [r[2] for r in recs] * 2 + [r[2] for r in recs[:n // 2]],
             "the capture repeats the first pass's frames")
    stamps = [r[0] * 1_000_000 + r[1] for r in mrecs]
    vt.check(all(a < b for a, b in zip(stamps, stamps[1:])), "timestamps increase across passes")

    rows = vt.tshark(many, vt.FIELDS)
    vt.check(len(rows) == count, f"tshark decodes {len(rows)} of {count} frames")
    vt.check(all(r["vxlan.vni"] == ["27"] for r in rows), "every frame is VXLAN VNI 27")
    vt.check(not any(r["_ws.malformed"] for r in rows), "no malformed frames")
    convs = {vt.inner(r)[:2] for r in rows}
    vt.check(len(convs) == s["flows"] == 40, f"inner conversations {len(convs)}, summary {s['flows']}")
    planted = vt.tshark(many, ["frame.number"], f'frame contains "{SIG}"')
    vt.check(len(planted) == s["planted"] == 2 * s1["planted"] + sum(SIG.encode() in r[2] for r in recs[:n // 2]),
             f"planted frames: tshark {len(planted)}, summary {s['planted']}, one pass {s1['planted']}")
    vt.check(s1["planted"] > 0, "something was planted")
    return many, count, s


def port_checks(binary, tmp, reference, count, ref_summary):
    _, want = vt.read_pcap(reference)
    want = [r[2] for r in want]
    for mode in ("copy", "refcnt", "stream"):
        out = os.path.join(tmp, f"port-{mode}.pcap")
        s = gen(binary, "--port", f"net_pcap0,tx_pcap={out}", "--count", str(count), "--mode", mode, *SYNTH,
                *EAL, f"--file-prefix=vgt{os.getpid()}{mode}")
        vt.check(s["sent"] == count and s["rejected"] == 0, f"{mode}: {s}")
        for k in ("flows", "planted", "bytes"):
            vt.check(s[k] == ref_summary[k], f"{mode}: {k} {s[k]} == pcap destination's {ref_summary[k]}")
        vt.check(frames_of(out) == want, f"{mode}: net_pcap wrote the same {count} frames as --out")
    # A paced run takes its time: 600 frames at 3,000 pps is about 0.2 s.
    out = os.path.join(tmp, "paced.pcap")
    s = gen(binary, "--port", f"net_pcap0,tx_pcap={out}", "--count", "600", "--pps", "3000", *SYNTH, *EAL,
            f"--file-prefix=vgt{os.getpid()}paced")
    vt.check(s["sent"] == 600 and 0.19 <= s["seconds"] < 5, f"paced: {s}")


def usage_checks(binary, tmp):
    x = os.path.join(tmp, "x.pcap")
    for args in (["--out", x, "--port", "net_null0"], [], ["--out", x, "--pps", "1", "--gbps", "1"],
                 ["--out", x, "--mode", "fast"], ["--wrap", x, "--port", "net_null0", "--mode", "stream"],
                 ["--out", x, "--count", "0"]):
        r = vt.run(binary, *args)
        vt.check(r.returncode == 2 and r.stderr.startswith("vtap-gen: "), f"{args}: exit {r.returncode}, {r.stderr[:80]!r}")


def main():
    binary = sys.argv[1]
    if shutil.which("tshark") is None:
        print("SKIP: tshark is not installed (apt-get install tshark)")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        many, count, s = capture_checks(binary, tmp)
        port_checks(binary, tmp, many, count, s)
        usage_checks(binary, tmp)
    print(f"ok: {vt.CHECKS} checks")


if __name__ == "__main__":
    main()
