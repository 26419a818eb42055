#!/usr/bin/env python3
"""Integration: run the built vtap-pcap, decode its captures with tshark and
check what tshark sees against the tool's own summary (frames, conversations,
planted hits), the VTAP outer fields, every checksum, and wrap mode's bytes.

usage: vtap_pcap_tshark_test.py VTAP_PCAP   (exit 77 = skipped: no tshark)
"""
import collections
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

CHECKS = 0


def check(cond, what):
    global CHECKS
    CHECKS += 1
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)


def tshark(path, fields, display_filter=None):
    cmd = ["tshark", "-n", "-r", path, "-d", "udp.port==4789,vxlan",
           "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
           "-o", "udp.check_checksum:TRUE", "-T", "fields"]
    if display_filter:
        cmd += ["-Y", display_filter]
    for f in fields:
        cmd += ["-e", f]
    # tshark warns on stderr when run as root; only its stdout matters.
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        cols = line.split("\t")
        rows.append({f: (c.split(",") if c else []) for f, c in zip(fields, cols)})
    return rows


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack_from("<I", data, 0)
    check(magic == 0xA1B2C3D4, f"{path}: little-endian microsecond pcap")
    off, recs = 24, []
    while off < len(data):
        sec, usec, caplen, length = struct.unpack_from("<IIII", data, off)
        recs.append((sec, usec, data[off + 16:off + 16 + caplen]))
        off += 16 + caplen
    return data[:24], recs


def write_pcap(path, header, recs):
    with open(path, "wb") as f:
        f.write(header)
        for sec, usec, frame in recs:
            f.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
            f.write(frame)


def run(binary, *args):
    return subprocess.run([binary, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


FIELDS = ["vxlan.vni", "vxlan.flags", "ip.src", "ip.dst", "ip.ttl", "ip.id", "ip.flags.df",
          "ip.checksum.status", "ipv6.src", "ipv6.dst", "udp.srcport", "udp.dstport", "udp.checksum",
          "udp.checksum.status", "tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.fin",
          "tcp.checksum.status", "icmp.checksum.status", "icmpv6.checksum.status", "icmp.ident",
          "icmpv6.echo.identifier", "_ws.malformed", "frame.len"]


def inner(row):
    """(protocol, direction-free endpoint pair, sender) of the inner packet."""
    v4 = len(row["ip.src"]) == 2
    src = row["ip.src"][1] if v4 else row["ipv6.src"][0]
    dst = row["ip.dst"][1] if v4 else row["ipv6.dst"][0]
    if row["tcp.srcport"]:
        proto, sp, dp = "tcp", row["tcp.srcport"][0], row["tcp.dstport"][0]
    elif len(row["udp.srcport"]) == 2:
        proto, sp, dp = "udp", row["udp.srcport"][1], row["udp.dstport"][1]
    else:
        ident = (row["icmp.ident"] or row["icmpv6.echo.identifier"])[0]
        proto, sp, dp = "icmp", ident, ident
    return proto, frozenset([(src, sp), (dst, dp)]), (src, sp)


def synth_checks(binary, tmp):
    out, js = os.path.join(tmp, "s.pcap"), os.path.join(tmp, "s.json")
    taps, collector, sig = ["198.18.0.10", "198.18.0.11"], "198.18.0.4", "needle-for-tshark"
    r = run(binary, "synth", "--out", out, "--flows", "60", "--seed", "7", "--vni", "4242",
            "--size", "fixed:400", "--ipv6-share", "0.25", "--tap-src", ",".join(taps),
            "--collector", collector, "--two-tap-share", "0.2", "--plant", sig,
            "--plant-rate", "0.4", "--summary-json", js)
    check(r.returncode == 0, f"synth exit {r.returncode}: {r.stderr}")
    check(" frames, " in r.stdout and " planted hits, " in r.stdout, "one-line summary printed")
    summary = json.load(open(js))
    rows = tshark(out, FIELDS)
    check(len(rows) == summary["frames"], f"tshark decodes {len(rows)} frames, summary says {summary['frames']}")

    convs = collections.defaultdict(lambda: {"taps": set(), "senders": set(), "syn": 0, "fin": 0})
    for i, row in enumerate(rows):
        where = f"frame {i + 1}"
        check(row["vxlan.vni"] == ["4242"], f"{where}: VNI {row['vxlan.vni']}")
        check(row["vxlan.flags"] == ["0x0800"], f"{where}: VXLAN flags {row['vxlan.flags']}")
        check(row["ip.src"][0] in taps and row["ip.dst"][0] == collector, f"{where}: outer addresses")
        check(row["ip.ttl"][0] == "64" and row["ip.id"][0] == "0x0000" and row["ip.flags.df"][0] == "0",
              f"{where}: outer TTL/ID/DF")
        check(row["udp.dstport"][0] == "4789" and row["udp.checksum"][0] == "0x0000", f"{where}: outer UDP")
        check(set(row["ip.checksum.status"]) == {"1"}, f"{where}: IPv4 checksums {row['ip.checksum.status']}")
        check(row["udp.checksum.status"][1:] in ([], ["1"]), f"{where}: inner UDP checksum")
        for f in ("tcp.checksum.status", "icmp.checksum.status", "icmpv6.checksum.status"):
            check(row[f] in ([], ["1"]), f"{where}: {f} {row[f]}")
        check(not row["_ws.malformed"], f"{where}: tshark calls it malformed")
        proto, key, sender = inner(row)
        c = convs[(proto, key)]
        c["taps"].add(row["ip.src"][0])
        c["senders"].add(sender)
        c["syn"] += row["tcp.flags.syn"] == ["1"]
        c["fin"] += row["tcp.flags.fin"] == ["1"]

    check(len(convs) == summary["flows"], f"{len(convs)} inner conversations, summary says {summary['flows']}")
    by_proto = collections.Counter(p for p, _ in convs)
    check(by_proto["tcp"] == summary["tcp_flows"] and by_proto["udp"] == summary["udp_flows"]
          and by_proto["icmp"] == summary["icmp_flows"], f"conversations by protocol {dict(by_proto)}")
    two = 0
    for (proto, key), c in convs.items():
        check(len(c["senders"]) == 2, f"{proto} {sorted(key)}: both directions present")
        if proto == "tcp":
            # Each SYN and FIN is seen once per tap source.
            check(c["syn"] == 2 * len(c["taps"]) and c["fin"] == 2 * len(c["taps"]), f"{sorted(key)}: handshake and teardown")
        two += len(c["taps"]) == 2
    check(two == summary["two_tap_flows"] and two > 0, f"{two} conversations seen from two taps")

    hits = tshark(out, ["frame.number"], f'frame contains "{sig}"')
    check(len(hits) == summary["planted"] and summary["planted"] > 0,
          f"{len(hits)} frames contain the signature, summary says {summary['planted']}")
    dns = tshark(out, ["dns.flags.response"], "dns")
    check({r["dns.flags.response"][0] for r in dns} == {"0", "1"}, "DNS queries and responses decode")
    http = tshark(out, ["http.request.method", "http.response.code"], "http")
    check(any(r["http.request.method"] == ["GET"] for r in http) and any(r["http.response.code"] == ["200"] for r in http),
          "HTTP requests and responses decode")
    tls = tshark(out, ["tls.handshake.extensions_server_name"], "tls.handshake.type == 1")
    check(tls and all(r["tls.handshake.extensions_server_name"] for r in tls), "TLS ClientHellos carry an SNI")
    return out, summary, convs


def wrap_checks(binary, tmp, synth_out, synth_convs):
    header, recs = read_pcap(synth_out)
    plain = os.path.join(tmp, "plain.pcap")
    write_pcap(plain, header, [(s, u, f[50:]) for s, u, f in recs])
    wrapped, js = os.path.join(tmp, "w.pcap"), os.path.join(tmp, "w.json")
    r = run(binary, "wrap", "--in", plain, "--out", wrapped, "--vni", "99", "--tap-src", "198.18.0.10,198.18.0.11",
            "--summary-json", js)
    check(r.returncode == 0, f"wrap exit {r.returncode}: {r.stderr}")
    summary = json.load(open(js))
    _, out = read_pcap(wrapped)
    check(len(out) == len(recs) == summary["frames"], "wrap writes every frame")
    for (s, u, f), (s2, u2, w) in zip(recs, out):
        check(w[50:] == f[50:] and (s, u) == (s2, u2), "wrap preserves inner bytes and timestamps")
    rows = tshark(wrapped, FIELDS)
    check(all(r["vxlan.vni"] == ["99"] for r in rows), "wrapped frames carry VNI 99")
    keys = {(inner(r)[0], inner(r)[1]) for r in rows}
    check(keys == set(synth_convs), "tshark sees the same inner conversations after wrap")
    check(summary["flows"] == len(keys), f"wrap counts {summary['flows']} conversations, tshark {len(keys)}")


def jumbo_checks(binary, tmp):
    out = os.path.join(tmp, "j.pcap")
    r = run(binary, "synth", "--out", out, "--flows", "6", "--size", "jumbo", "--seed", "3")
    check(r.returncode == 0, f"jumbo synth exit {r.returncode}")
    lens = [int(r["frame.len"][0]) for r in tshark(out, ["frame.len", "_ws.malformed"]) if not r["_ws.malformed"]]
    check(max(lens) == 9050, f"largest frame {max(lens)} = 9000-byte inner + 50")


def usage_checks(binary, tmp):
    x = os.path.join(tmp, "x.pcap")
    for args, code in [(["synth", "--out", x, "--bogus"], 2), (["synth", "--out", x, "--vni", "16777216"], 2),
                       (["synth"], 2), (["frobnicate"], 2), (["synth", "--out", x, "--size", "fixed:10"], 2),
                       (["synth", "--out", x, "--two-taps", "--tap-src", "198.18.0.10"], 2),
                       (["synth", "--out", x, "--tap-src", "198.18.0.300"], 2),
                       (["wrap", "--in", os.path.join(tmp, "missing.pcap"), "--out", x], 1),
                       (["synth", "--out", os.path.join(tmp, "no-dir", "x.pcap")], 1)]:
        r = run(binary, *args)
        check(r.returncode == code and r.stderr.startswith("vtap-pcap: "),
              f"{' '.join(args)}: exit {r.returncode} (want {code}), stderr {r.stderr[:80]!r}")


def main():
    binary = sys.argv[1]
    if shutil.which("tshark") is None:
        print("SKIP: tshark is not installed (apt-get install tshark)")
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        out, _, convs = synth_checks(binary, tmp)
        wrap_checks(binary, tmp, out, convs)
        jumbo_checks(binary, tmp)
        usage_checks(binary, tmp)
    print(f"ok: {CHECKS} checks")


if __name__ == "__main__":
    main()
