#!/usr/bin/env python3
"""The committed tests/fixtures/vtap-small.pcap is exactly what vtap-pcap makes
from the command recorded in tests/fixtures/README.md (and stays small).

usage: fixture_test.py VTAP_PCAP FIXTURE
"""
import os
import subprocess
import sys
import tempfile

# Keep in step with tests/fixtures/README.md.
ARGS = ["synth", "--flows", "6", "--seed", "2024", "--size", "fixed:200", "--ipv6-share", "0.3",
        "--two-tap-share", "0.3", "--plant", "vtapd-fixture-signature", "--plant-rate", "0.5"]


def main():
    binary, fixture = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "vtap-small.pcap")
        subprocess.run([binary, *ARGS, "--out", out], check=True, stdout=subprocess.DEVNULL)
        made, committed = open(out, "rb").read(), open(fixture, "rb").read()
    if len(committed) >= 20 * 1024:
        print(f"FAIL: fixture is {len(committed)} bytes, keep it under 20 KB")
        sys.exit(1)
    if made != committed:
        print(f"FAIL: vtap-pcap now makes {len(made)} bytes that differ from the committed {len(committed)}-byte "
              "fixture; regenerate it with the command in tests/fixtures/README.md if the change is intended")
        sys.exit(1)
    print(f"ok: fixture reproduced byte for byte ({len(made)} bytes)")


if __name__ == "__main__":
    main()
