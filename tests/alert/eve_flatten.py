#!/usr/bin/python3
"""Independent check of an EVE file written by vtapd's EveFormatter.

Reads the file as bytes, requires strict UTF-8, one JSON object per line
(Python's json, strict=True: no raw control characters in strings; duplicate
keys, NaN and trailing garbage rejected), then prints every leaf as
  <line-no> <dotted.key> <type> <value>
where type is s (value = "x" + hex of the UTF-8 bytes), i (decimal),
b (true/false) or n (null); for "payload" it also prints payload#decoded
(hex of the base64-decoded bytes). The first output line is "lines N".
Exit status 1 with a message on any violation.
"""
import base64
import binascii
import json
import sys


def reject_constant(name):
    raise ValueError("non-standard JSON constant " + name)


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in object: %r" % keys)
    return dict(pairs)


def flatten(prefix, v, out):
    if isinstance(v, dict):
        for k, x in v.items():
            flatten(prefix + "." + k if prefix else k, x, out)
    elif isinstance(v, bool):
        out.append((prefix, "b", "true" if v else "false"))
    elif isinstance(v, int):
        out.append((prefix, "i", str(v)))
    elif isinstance(v, str):
        out.append((prefix, "s", "x" + v.encode("utf-8").hex()))
        if prefix == "payload":
            out.append(("payload#decoded", "s",
                        "x" + base64.b64decode(v, validate=True).hex()))
    elif v is None:
        out.append((prefix, "n", "null"))
    else:
        raise ValueError("unexpected JSON value at %s: %r" % (prefix, v))


def main():
    data = open(sys.argv[1], "rb").read()
    try:
        text = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        print("not valid UTF-8: %s" % e)
        return 1
    if data and not data.endswith(b"\n"):
        print("last line is not terminated")
        return 1
    lines = text.split("\n")[:-1] if text else []
    print("lines %d" % len(lines))
    dec = json.JSONDecoder(strict=True, object_pairs_hook=no_duplicates,
                           parse_constant=reject_constant)
    for n, line in enumerate(lines):
        if "\r" in line:
            print("line %d contains a raw CR" % n)
            return 1
        try:
            obj, end = dec.raw_decode(line)
            if end != len(line):
                raise ValueError("trailing data after the object")
            if not isinstance(obj, dict):
                raise ValueError("line is not an object")
            out = []
            flatten("", obj, out)
        except (ValueError, binascii.Error) as e:
            print("line %d is not a valid EVE object: %s" % (n, e))
            return 1
        for k, t, v in out:
            print("%d %s %s %s" % (n, k, t, v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
