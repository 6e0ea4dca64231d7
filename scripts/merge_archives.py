#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Merge static archives into one: merge_archives.py AR OUTPUT INPUT...

libdeployd.a is deployd_core's and deployd_io's objects in one archive (src/meson.build says why
this is not meson's link_whole). A thin archive (meson's kind) names its objects, which are
taken from where they are; a normal one is unpacked into a folder of its own, so that two inputs
may hold members of the same name (a name twice in one input would lose one of them: an error).
The output is written beside its final name and renamed: never half an archive.
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print("usage: merge_archives.py AR OUTPUT INPUT...", file=sys.stderr)
        return 2
    ar, output, inputs = argv[1], Path(argv[2]), argv[3:]
    with tempfile.TemporaryDirectory(dir=output.parent) as tmp:
        members = []
        for index, archive in enumerate(inputs):
            archive = os.path.abspath(archive)
            names = subprocess.run([ar, "t", archive], check=True, capture_output=True,
                                   text=True).stdout.split()
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                print(f"merge_archives.py: {archive} holds {', '.join(repeated)} more than once",
                      file=sys.stderr)
                return 1
            with open(archive, "rb") as file:
                is_thin = file.read(8) == b"!<thin>\n"
            if is_thin:
                members += names  # `ar t` names a thin archive's objects by their paths
                continue
            folder = Path(tmp) / str(index)
            folder.mkdir()
            subprocess.run([ar, "x", archive], check=True, cwd=folder)
            members += [str(folder / name) for name in names]
        partial = Path(tmp) / output.name
        subprocess.run([ar, "qcs", str(partial), *members], check=True)
        os.replace(partial, output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
