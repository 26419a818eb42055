#!/usr/bin/python3
"""Validate scripts/azure/cloud-init.yaml without booting a VM.

Always (Debian's python3-yaml and bash; shellcheck when installed):
  - the first line is "#cloud-config" and the rest is one YAML mapping;
  - every top-level key is one of the cloud-init modules this file may use,
    with the type cloud-init's schema gives it (SCHEMA below, a subset of
    cloud-init 22.4's schema-cloud-config-v1.json, which itself accepts
    unknown keys: a misspelt module would be silently ignored at boot);
  - write_files entries have an absolute path, content, an octal
    permissions string and owner user:group;
  - every runcmd entry is a string or a list of strings; `bash -c` scripts
    pass `bash -n` and shellcheck; the env file it writes is valid shell
    with every placeholder substituted.
When the `cloud-init` command is installed, also `cloud-init schema
--config-file` on the file with its @@NAME@@ placeholders filled in.
Usage: cloud_init_check.py FILE. Exit 0 clean, 1 with one line per problem.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("python3-yaml is not installed (scripts/setup.sh installs it): skipped")
    sys.exit(77)

STR, BOOL, LIST, MAP = str, bool, list, dict
SCHEMA = {
    "package_update": BOOL,
    "package_upgrade": BOOL,
    "packages": LIST,
    "write_files": LIST,
    "runcmd": LIST,
    "bootcmd": LIST,
    "final_message": STR,
}
WRITE_FILE_KEYS = {"path", "content", "owner", "permissions", "encoding", "append", "defer"}


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def filled(text):
    # Representative values of the right shape for every placeholder.
    return re.sub(r"@@([A-Z_]+)@@", lambda m: {"TAP_SOURCES": "[10.42.0.0/16]", "HUGEPAGES": "1024",
                                                 "WORKERS": "0"}.get(m.group(1), "x"), text)


def check_shell(label, script, problems, excluded=()):
    r = run(["bash", "-n", "-c", script])
    if r.returncode != 0:
        problems.append(f"{label}: bash -n: {r.stderr.strip()}")
    if shutil.which("shellcheck"):
        exclude = ["-e", ",".join(excluded)] if excluded else []
        r = run(["shellcheck", "-s", "bash", *exclude, "-"], input=script)
        if r.returncode != 0:
            problems.append(f"{label}: shellcheck:\n{r.stdout.strip()}")


def main(path):
    problems = []
    text = open(path, encoding="utf-8").read()
    if not text.startswith("#cloud-config\n"):
        problems.append("the first line must be exactly '#cloud-config' (else cloud-init ignores the file)")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        print(f"{path}: YAML error: {e}")
        return 1
    if not isinstance(doc, dict):
        print(f"{path}: the document must be a mapping, got {type(doc).__name__}")
        return 1
    for key, value in doc.items():
        if key not in SCHEMA:
            problems.append(f"unknown top-level key '{key}' (known here: {', '.join(SCHEMA)})")
        elif not isinstance(value, SCHEMA[key]):
            problems.append(f"'{key}' must be a {SCHEMA[key].__name__}, got {type(value).__name__}")
    for i, wf in enumerate(doc.get("write_files") or []):
        label = f"write_files[{i}]"
        if not isinstance(wf, dict):
            problems.append(f"{label} must be a mapping")
            continue
        for k in sorted(set(wf) - WRITE_FILE_KEYS):
            problems.append(f"{label}: unknown key '{k}'")
        if not str(wf.get("path", "")).startswith("/"):
            problems.append(f"{label}: 'path' must be absolute")
        if not isinstance(wf.get("content"), str):
            problems.append(f"{label}: 'content' must be a string")
        perm = wf.get("permissions")
        if perm is not None and not (isinstance(perm, str) and re.fullmatch(r"0[0-7]{3,4}", perm)):
            problems.append(f"{label}: 'permissions' must be a quoted octal string like \"0644\", got {perm!r}")
        owner = wf.get("owner")
        if owner is not None and not re.fullmatch(r"[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*", str(owner)):
            problems.append(f"{label}: 'owner' must be user:group, got {owner!r}")
        if str(wf.get("path", "")).endswith(".env") and isinstance(wf.get("content"), str):
            # Assignments only, for sourcing: "unused" (SC2034) is expected.
            check_shell(f"{label} ({wf['path']})", filled(wf["content"]), problems, ("SC2034",))
    for i, cmd in enumerate(doc.get("runcmd") or []):
        label = f"runcmd[{i}]"
        if isinstance(cmd, list):
            if not all(isinstance(a, str) for a in cmd):
                problems.append(f"{label}: every list element must be a string: {cmd!r}")
            elif len(cmd) >= 3 and cmd[0] in ("bash", "sh") and cmd[1] == "-c":
                # SC1091: the sourced env file is write_files' own, checked above.
                check_shell(label, cmd[2], problems, ("SC1091",))
        elif not isinstance(cmd, str):
            problems.append(f"{label} must be a string or a list of strings")
    for i, p in enumerate(doc.get("packages") or []):
        if not isinstance(p, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.+-]+", p):
            problems.append(f"packages[{i}]: {p!r} is not a Debian package name")
    how = "own schema subset"
    if shutil.which("cloud-init"):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(filled(text))
        r = run(["cloud-init", "schema", "--config-file", f.name])
        os.unlink(f.name)
        how += " and cloud-init schema"
        if r.returncode != 0:
            problems.append(f"cloud-init schema: {(r.stdout + r.stderr).strip()}")
    else:
        how += " (cloud-init not installed: its schema not run)"
    for p in problems:
        print(f"{path}: {p}")
    print(f"cloud_init_check: {how}: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
