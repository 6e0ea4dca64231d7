#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Fails unless each public header compiles alone with the standard library and nothing else.

For each include/deployd/*.hpp it compiles a .cpp that includes only that header, with
`-std=c++20 -fsyntax-only` and no include path but include/, and records the headers it read.
A header read that is neither under include/deployd/ nor read by a .cpp including every standard
header (the baseline: the standard library and the C library under it) is a finding: Boost,
nlohmann or libssh2 live in /usr/include beside the C library, so the compiler alone would not
refuse them. Prints one line per finding and exits 1.

  scripts/check_public_headers.py                   g++ ($CXX if set), the repository's include/
  scripts/check_public_headers.py --include DIR -- COMPILER [ARGS...]
"""

import argparse
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile

# The standard library's headers (C++20 and the C headers in their <cxxx> form); those the
# compiler lacks are skipped by __has_include.
STANDARD_HEADERS = """
algorithm any array atomic barrier bit bitset charconv chrono codecvt compare complex concepts
condition_variable coroutine deque exception execution expected filesystem format forward_list
fstream functional future initializer_list iomanip ios iosfwd iostream istream iterator latch
limits list locale map memory memory_resource mutex new numbers numeric optional ostream queue
random ranges ratio regex scoped_allocator semaphore set shared_mutex source_location span
sstream stack stdexcept stop_token streambuf string string_view syncstream system_error thread
tuple type_traits typeindex typeinfo unordered_map unordered_set utility valarray variant vector
version cassert cctype cerrno cfenv cfloat cinttypes climits clocale cmath csetjmp csignal
cstdarg cstddef cstdint cstdio cstdlib cstring ctime cuchar cwchar cwctype
""".split()


def compile_alone(compiler, include_dir, source_text, folder, name):
    """Compiles SOURCE_TEXT; returns (returncode, compiler output, set of headers read)."""
    source = folder / f"{name}.cpp"
    deps = folder / f"{name}.d"
    source.write_text(source_text, encoding="utf-8")
    command = compiler + ["-std=c++20", "-fsyntax-only", "-Wall", "-Wextra", "-Wpedantic",
                          "-Werror", "-I", str(include_dir), "-MD", "-MF", str(deps),
                          str(source)]
    result = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=False)
    read = set()
    if deps.is_file():
        text = deps.read_text(encoding="utf-8").replace("\\\n", " ")
        _, _, prerequisites = text.partition(": ")
        read = {os.path.realpath(item) for item in prerequisites.split()}
        read.discard(os.path.realpath(source))
    return result.returncode, (result.stdout + result.stderr).strip(), read


def baseline_source():
    lines = []
    for header in STANDARD_HEADERS:
        lines += [f"#if __has_include(<{header}>)", f"#include <{header}>", "#endif"]
    return "\n".join(lines) + "\n"


def check(compiler, include_dir):
    """Returns the findings, one line each."""
    public = include_dir / "deployd"
    headers = sorted(public.glob("*.hpp"))
    if not headers:
        return [f"{public}: no public headers"]
    findings = []
    own = os.path.realpath(public) + os.sep
    with tempfile.TemporaryDirectory(prefix="deployd-public-headers.") as temp:
        folder = pathlib.Path(temp)
        rc, output, standard = compile_alone(compiler, include_dir, baseline_source(), folder,
                                             "baseline")
        if rc != 0:
            return [f"the standard headers alone do not compile with {shlex.join(compiler)}:\n"
                    f"{output}"]
        for header in headers:
            name = f"deployd/{header.name}"
            rc, output, read = compile_alone(compiler, include_dir, f'#include "{name}"\n',
                                             folder, header.stem)
            if rc != 0:
                findings.append(f"include/{name}: does not compile alone "
                                f"(-std=c++20, -I include only):\n{output}")
                continue
            for path in sorted(read - standard):
                if not path.startswith(own):
                    findings.append(f"include/{name}: reads {path}, which is not the standard "
                                    f"library: public headers are std-only")
    return findings


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--include", type=pathlib.Path,
                        default=pathlib.Path(__file__).resolve().parent.parent / "include",
                        help="the folder holding deployd/*.hpp")
    parser.add_argument("compiler", nargs="*",
                        help="the C++ compiler and its own arguments (default $CXX or g++)")
    args = parser.parse_args(argv)
    compiler = args.compiler or shlex.split(os.environ.get("CXX", "g++"))
    # ccache in front (meson's compiler command) adds nothing to a syntax check.
    if compiler and pathlib.Path(compiler[0]).name == "ccache":
        compiler = compiler[1:]
    findings = check(compiler, args.include.resolve())
    for finding in findings:
        print(finding)
    if findings:
        count = f"{len(findings)} finding{'s' if len(findings) > 1 else ''}"
        print(f"public headers: {count}", file=sys.stderr)
        return 1
    count = len(list((args.include / "deployd").glob("*.hpp")))
    print(f"public headers: {count} compile alone with the standard library only")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
