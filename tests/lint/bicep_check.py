#!/usr/bin/python3
"""Structural check of the Bicep templates in a directory (scripts/azure).

The bicep compiler is not packaged for Debian (npm's "bicep" is an unrelated
project; bicep-node downloads the CLI from GitHub), so this checks what can
be checked without it, and runs `bicep build` as well when a `bicep` binary
is on PATH:
  - the lexical structure: strings ('...', '''...''', ${} interpolation),
    comments and (), [], {} all close;
  - every `resource` type@apiVersion is one checked against Microsoft's
    template reference (KNOWN_TYPES below, with where it was checked);
  - every module path exists; a module call passes only parameters the
    module declares and every one it requires (no default);
  - every declared parameter is used; an @allowed() default is allowed;
  - loadTextContent() files exist, and the @@NAME@@ placeholders of
    cloud-init.yaml are exactly those the templates replace().
NOT checked: property names and types inside resource bodies, expression
types, function names, ARM deployment-time rules. Usage: bicep_check.py DIR
Exit 0 when clean, 1 with one line per problem.
"""
import os
import re
import shutil
import subprocess
import sys

# Microsoft.Network 2023-11-01 covers every Network type used here (the
# version's change-log summary lists loadBalancers, networkInterfaces,
# networkSecurityGroups, publicIPAddresses, virtualNetworks and
# virtualNetworkTaps: learn.microsoft.com/azure/templates/microsoft.network/
# change-log/summary); tapConfigurations@2023-11-01 is the reference page's
# current version (.../microsoft.network/networkinterfaces/tapconfigurations).
# Compute 2024-03-01: .../microsoft.compute/2024-03-01/virtualmachines.
KNOWN_TYPES = {
    "Microsoft.Network/virtualNetworkTaps": {"2023-11-01"},
    "Microsoft.Network/networkInterfaces/tapConfigurations": {"2023-11-01"},
    "Microsoft.Network/networkInterfaces": {"2023-11-01"},
    "Microsoft.Network/loadBalancers": {"2023-11-01"},
    "Microsoft.Network/virtualNetworks": {"2023-11-01"},
    "Microsoft.Network/networkSecurityGroups": {"2023-11-01"},
    "Microsoft.Network/publicIPAddresses": {"2023-11-01"},
    "Microsoft.Compute/virtualMachines": {"2024-03-01"},
}

OPEN = {"(": ")", "[": "]", "{": "}"}


def lex(text):
    """Yields (offset, char) for every bracket outside strings and comments;
    raises ValueError naming the line of an unterminated string/comment or a
    mismatched bracket."""
    stack = []  # brackets; "${" entries mark interpolation inside a string
    i, n = 0, len(text)
    line = lambda pos: text.count("\n", 0, pos) + 1

    def read_string(i):
        # i at the opening quote; returns the index after the closing quote.
        start = i
        if text.startswith("'''", i):
            end = text.find("'''", i + 3)
            if end < 0:
                raise ValueError(f"line {line(start)}: unterminated ''' string")
            return end + 3
        i += 1
        while i < n:
            c = text[i]
            if c == "\\":
                i += 2
                continue
            if c == "\n":
                raise ValueError(f"line {line(start)}: string not closed on its line")
            if c == "'":
                return i + 1
            if text.startswith("${", i):
                depth = 0
                i += 2
                while i < n:
                    c = text[i]
                    if c == "'":
                        i = read_string(i)
                        continue
                    if c == "{":
                        depth += 1
                    elif c == "}":
                        if depth == 0:
                            break
                        depth -= 1
                    i += 1
                else:
                    raise ValueError(f"line {line(start)}: unterminated ${{...}}")
            i += 1
        raise ValueError(f"line {line(start)}: unterminated string")

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise ValueError(f"line {line(i)}: unterminated /* comment")
            i = j + 2
            continue
        if c == "'":
            i = read_string(i)
            continue
        if c in OPEN:
            stack.append((c, i))
            yield i, c
        elif c in ")]}":
            if not stack or OPEN[stack[-1][0]] != c:
                raise ValueError(f"line {line(i)}: unexpected '{c}'")
            stack.pop()
            yield i, c
        i += 1
    if stack:
        c, pos = stack[-1]
        raise ValueError(f"line {line(pos)}: '{c}' is never closed")


def matching(text, open_pos):
    """Index of the bracket closing the one at open_pos."""
    depth = 0
    for pos, c in lex(text):
        if pos < open_pos:
            continue
        depth += 1 if c in OPEN else -1
        if depth == 0:
            return pos
    raise ValueError("unbalanced")


def strip_comments(text):
    return re.sub(r"//[^\n]*", "", text)


PARAM = re.compile(r"^param\s+(\w+)\s+(\w+)(\s*=\s*(.+))?$", re.M)
RESOURCE = re.compile(r"^resource\s+(\w+)\s+'([^'@]+)@([^']+)'(\s+existing)?", re.M)
MODULE = re.compile(r"^module\s+(\w+)\s+'([^']+)'\s*=", re.M)


def params_of(text):
    """{name: has_default}"""
    return {m.group(1): m.group(3) is not None for m in PARAM.finditer(text)}


def module_args(text, start):
    """Keys of the `params: {...}` object in the module body after `start`."""
    body_open = text.index("{", start)
    body = text[body_open:matching(text, body_open) + 1]
    m = re.search(r"\bparams:\s*\{", body)
    if not m:
        return set()
    p_open = m.end() - 1
    p_close = matching(body, p_open)
    inner = body[p_open + 1:p_close]
    keys, depth = set(), 0
    for ln in inner.split("\n"):
        if depth == 0:
            k = re.match(r"\s*(\w+)\s*:", ln)
            if k:
                keys.add(k.group(1))
        depth += sum(ln.count(c) for c in "([{") - sum(ln.count(c) for c in ")]}")
    return keys


def check_file(path, problems):
    name = os.path.basename(path)
    text = open(path, encoding="utf-8").read()
    try:
        for _ in lex(text):
            pass
    except ValueError as e:
        problems.append(f"{name}: {e}")
        return
    code = strip_comments(text)
    for m in RESOURCE.finditer(code):
        rtype, ver = m.group(2), m.group(3)
        if rtype not in KNOWN_TYPES:
            problems.append(f"{name}: resource {m.group(1)}: type {rtype} is not in the checked list")
        elif ver not in KNOWN_TYPES[rtype]:
            problems.append(f"{name}: resource {m.group(1)}: {rtype}@{ver} is not a checked API version "
                            f"({', '.join(sorted(KNOWN_TYPES[rtype]))})")
    declared = params_of(code)
    for p in declared:
        uses = len(re.findall(r"\b%s\b" % re.escape(p), code))
        if uses < 2:
            problems.append(f"{name}: parameter '{p}' is declared but never used")
    for m in re.finditer(r"@allowed\(\[(.*?)\]\)\s*param\s+(\w+)\s+\w+\s*=\s*'([^']*)'", code, re.S):
        allowed = re.findall(r"'([^']*)'", m.group(1))
        if m.group(3) not in allowed:
            problems.append(f"{name}: default '{m.group(3)}' of '{m.group(2)}' is not in @allowed {allowed}")
    for m in re.finditer(r"loadTextContent\('([^']+)'\)", code):
        if not os.path.isfile(os.path.join(os.path.dirname(path), m.group(1))):
            problems.append(f"{name}: loadTextContent('{m.group(1)}'): no such file")
    for m in MODULE.finditer(code):
        mpath = os.path.join(os.path.dirname(path), m.group(2))
        if not os.path.isfile(mpath):
            problems.append(f"{name}: module {m.group(1)}: no such file '{m.group(2)}'")
            continue
        mparams = params_of(strip_comments(open(mpath, encoding="utf-8").read()))
        given = module_args(code, m.end())
        for k in sorted(given - set(mparams)):
            problems.append(f"{name}: module {m.group(1)} passes '{k}', which {m.group(2)} does not declare")
        for k in sorted(p for p, has_default in mparams.items() if not has_default and p not in given):
            problems.append(f"{name}: module {m.group(1)} does not pass required parameter '{k}'")


def main(directory):
    problems = []
    files = sorted(os.path.join(directory, f) for f in os.listdir(directory) if f.endswith(".bicep"))
    if not files:
        print(f"bicep_check: no .bicep files in {directory}")
        return 1
    for f in files:
        check_file(f, problems)
    # Placeholders: cloud-init.yaml's @@NAME@@ are all replaced, and nothing
    # else is.
    ci = os.path.join(directory, "cloud-init.yaml")
    if os.path.isfile(ci):
        lines = open(ci, encoding="utf-8").read().split("\n")
        wanted = set(re.findall(r"@@[A-Z_]+@@", "\n".join(l for l in lines if not l.lstrip().startswith("#"))))
        replaced = set()
        for f in files:
            replaced |= set(re.findall(r"'(@@[A-Z_]+@@)'", open(f, encoding="utf-8").read()))
        for p in sorted(wanted - replaced):
            problems.append(f"cloud-init.yaml: placeholder {p} is never replaced by the templates")
        for p in sorted(replaced - wanted):
            problems.append(f"templates replace {p}, which cloud-init.yaml does not contain")
    bicep = shutil.which("bicep")
    if bicep:
        for f in files:
            r = subprocess.run([bicep, "build", "--stdout", f], capture_output=True, text=True)
            if r.returncode != 0:
                problems.append(f"{os.path.basename(f)}: bicep build failed: {r.stderr.strip()}")
    for p in problems:
        print(p)
    checked = "structure" + (" and bicep build" if bicep else " (no bicep CLI: not compiled)")
    print(f"bicep_check: {len(files)} files, {checked}: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
