#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fails when an #include crosses the layers that src/layers.txt allows.

A module is a folder of src/, or `deployd` for include/deployd/. Each file's includes of another
module ("engine/...", <deployd/...>) must be allowed by the table, or listed there as known debt
for that file. Prints one line per finding (FILE:LINE: ...) and exits 1; exits 0 when all hold.

  scripts/check_layers.py            check the repository this script is in
  scripts/check_layers.py --arrows   print today's arrows (module -> module: files), check nothing
  --root DIR                         check another tree (the tests use a temporary one)
  --stamp FILE --depfile FILE        for the build (tests/lint/meson.build): on success touch
                                     FILE, and list what was read so ninja reruns the check
                                     when a source, a folder or the table changes
"""

import argparse
import collections
import pathlib
import re
import sys

TABLE = "src/layers.txt"
SOURCE_SUFFIXES = {".hpp", ".cpp", ".h", ".cc"}
INCLUDE = re.compile(r'^\s*#\s*include\s*(?:"([^"]+)"|<([^>]+)>)')
RULE = re.compile(r"^([\w-]+)\s*:(.*)$")
DEBT = re.compile(r"^debt\s+([\w-]+)\s*->\s*([\w-]+)\s*:\s*(\S+)$")


class Table:
    """The allowed arrows and the known debt, as read from src/layers.txt."""

    def __init__(self):
        self.allowed = {}  # module -> the modules it may include, in the table's order
        self.debt = {}  # (from, to, file) -> line of the table
        self.errors = []


def read_table(path, shown):
    table = Table()
    lines = path.read_text(encoding="utf-8").splitlines()
    parsed = []
    for number, raw in enumerate(lines, 1):
        line = raw.split("#", 1)[0].strip()
        if line:
            parsed.append((number, line))
    debts = []
    for number, line in parsed:
        debt = DEBT.match(line)
        rule = RULE.match(line)
        if debt:
            debts.append((number, debt.groups()))
        elif rule:
            module, targets = rule.group(1), rule.group(2).split()
            if module in table.allowed:
                table.errors.append(f"{shown}:{number}: {module} has a second line")
            table.allowed[module] = targets
        else:
            table.errors.append(
                f"{shown}:{number}: expected `MODULE: MODULE...` or "
                f"`debt FROM -> TO: FILE`, got {line!r}")
    for module, targets in table.allowed.items():
        for target in [t for t in targets if t not in table.allowed]:
            table.errors.append(f"{shown}: {module} may include {target}, which has no line")
    cycle = find_cycle(table.allowed)
    if cycle:
        table.errors.append(f"{shown}: the allowed arrows form a cycle, {' -> '.join(cycle)}: "
                            f"layers are one way")
    for number, (source, target, file) in debts:
        where = f"{shown}:{number}"
        unknown = [m for m in (source, target) if m not in table.allowed]
        if unknown:
            table.errors.append(f"{where}: debt names {', '.join(unknown)}, which has no line")
        elif target == source or target in table.allowed[source]:
            table.errors.append(f"{where}: not debt: {source} may include {target}")
        table.debt[(source, target, file)] = number
    return table


def find_cycle(allowed):
    """Returns a cycle of the allowed arrows as a list of modules (first = last), or None."""
    state = {}  # module -> "open" while on the path, "done" after

    def visit(module, path):
        state[module] = "open"
        for target in allowed.get(module, []):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state:
                found = visit(target, path + [target])
                if found:
                    return found
        state[module] = "done"
        return None

    for module in allowed:
        if module not in state:
            found = visit(module, [module])
            if found:
                return found
    return None


def module_folders(root):
    """Maps each module to its folder: src/* and include/deployd."""
    folders = {}
    src = root / "src"
    if src.is_dir():
        for child in sorted(src.iterdir()):
            if child.is_dir() and not child.name.startswith("."):
                folders[child.name] = child
    public = root / "include" / "deployd"
    if public.is_dir():
        folders["deployd"] = public
    return folders


def includes(path):
    """Yields (line number, included path, as spelled) for each #include of the file."""
    text = path.read_text(encoding="utf-8", errors="replace")
    for number, line in enumerate(text.splitlines(), 1):
        match = INCLUDE.match(line)
        if match:
            quoted, angled = match.groups()
            yield number, quoted or angled, f'"{quoted}"' if quoted else f"<{angled}>"


def arrows(root, folders):
    """Yields (file, line, from module, to module, spelling) for each cross-module include."""
    for module, folder in folders.items():
        for path in sorted(folder.rglob("*")):
            if path.suffix not in SOURCE_SUFFIXES or not path.is_file():
                continue
            for number, included, spelled in includes(path):
                target = included.split("/", 1)[0] if "/" in included else None
                if target in folders and target != module:
                    yield path.relative_to(root).as_posix(), number, module, target, spelled


def print_arrows(found):
    files = collections.defaultdict(set)
    for file, _, source, target, _ in found:
        files[(source, target)].add(file)
    for (source, target), names in sorted(files.items()):
        print(f"{source} -> {target}: {' '.join(sorted(names))}")


def check(root, table, folders, found):
    """Returns the findings, one line each."""
    findings = list(table.errors)
    for module in folders:
        if module not in table.allowed:
            folder = folders[module].relative_to(root).as_posix()
            findings.append(f"{folder}: module {module} has no line in {TABLE}; add "
                            f"`{module}: MODULE...` with the modules it may include")
    for module in table.allowed:
        if module not in folders:
            findings.append(f"{TABLE}: {module} has a line but no folder src/{module}")
    used = set()
    for file, number, source, target, included in found:
        allowed = table.allowed.get(source)
        if allowed is None or target in allowed:
            continue
        if (source, target, file) in table.debt:
            used.add((source, target, file))
            continue
        findings.append(f"{file}:{number}: {source} may not include {target} ({included}); "
                        f"allowed: {' '.join(allowed) or 'no other module'}")
    for key, number in sorted(table.debt.items(), key=lambda item: item[1]):
        if key not in used:
            source, target, file = key
            findings.append(f"{TABLE}:{number}: stale debt: {file} no longer includes {target}; "
                            f"delete the line")
    return findings


def write_depfile(path, stamp, root, folders):
    """Lists the table, every module folder and file: ninja reruns the check when one changes."""
    read = [root / TABLE, root / "src"]
    for folder in folders.values():
        read += [folder, *(p for p in sorted(folder.rglob("*")))]
    names = " ".join(str(p).replace(" ", "\\ ") for p in read)
    pathlib.Path(path).write_text(f"{stamp}: {names}\n", encoding="utf-8")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parent.parent)
    parser.add_argument("--arrows", action="store_true", help="print today's arrows and exit")
    parser.add_argument("--stamp", help="a file to touch when the check passes")
    parser.add_argument("--depfile", help="a Makefile-style list of the files read, for ninja")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    folders = module_folders(root)
    found = list(arrows(root, folders))
    if args.arrows:
        print_arrows(found)
        return 0
    table_path = root / TABLE
    if not table_path.is_file():
        print(f"{TABLE}: no such file in {root}", file=sys.stderr)
        return 1
    table = read_table(table_path, TABLE)
    findings = check(root, table, folders, found)
    if args.depfile:
        write_depfile(args.depfile, args.stamp or "layers.stamp", root, folders)
    for finding in findings:
        print(finding)
    if findings:
        count = f"{len(findings)} finding{'s' if len(findings) > 1 else ''}"
        print(f"layers: {count}; the allowed arrows are in {TABLE} "
              f"(docs/architecture.md, Layers)", file=sys.stderr)
        return 1
    if args.stamp:
        pathlib.Path(args.stamp).write_text("", encoding="utf-8")
    else:
        print(f"layers: {len(found)} includes across {len(folders)} modules ok "
              f"({len(table.debt)} known debt in {TABLE})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
