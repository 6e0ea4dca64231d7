#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The layer checks fail when they should: scripts/check_layers.py and
scripts/check_public_headers.py run on small temporary trees that break a rule, and must exit 1
with a message naming the file, the line and the rule.

DEPLOYD_CXX: the C++ compiler command (meson passes the project's); default g++.
"""

import os
import pathlib
import shlex
import subprocess
import sys
import tempfile
import textwrap
import unittest

SCRIPTS = pathlib.Path(__file__).resolve().parents[2] / "scripts"
CHECK_LAYERS = SCRIPTS / "check_layers.py"
CHECK_PUBLIC_HEADERS = SCRIPTS / "check_public_headers.py"

TABLE = """\
deployd:
report: deployd
engine: deployd
"""


def write(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def run(*command):
    result = subprocess.run([sys.executable, *map(str, command)], capture_output=True,
                            text=True, check=False)
    return result.returncode, result.stdout


class TreeTest(unittest.TestCase):
    def setUp(self):
        temp = tempfile.TemporaryDirectory(prefix="deployd-lint-test.")
        self.addCleanup(temp.cleanup)
        self.root = pathlib.Path(temp.name)


class LayersTest(TreeTest):
    def layers(self, table, files):
        write(self.root, {"src/layers.txt": table, **files})
        return run(CHECK_LAYERS, "--root", self.root)

    def test_an_allowed_tree_passes(self):
        rc, out = self.layers(TABLE, {
            "include/deployd/event.hpp": "#include <string>\n",
            "src/report/line_diff.hpp": '#include "deployd/event.hpp"\n',
            "src/engine/x.cpp": '#include "engine/x.hpp"\n#include <deployd/event.hpp>\n',
            "src/engine/x.hpp": "#pragma once\n",
        })
        self.assertEqual(rc, 0, out)
        self.assertIn("layers: 2 includes across 3 modules ok", out)

    def test_a_forbidden_include_fails_with_file_line_and_the_allowed_modules(self):
        rc, out = self.layers(TABLE, {
            "include/deployd/event.hpp": "",
            "src/report/line_diff.hpp": "",
            "src/engine/x.cpp": '#include <string>\n\n#  include "report/line_diff.hpp"\n',
        })
        self.assertEqual(rc, 1)
        self.assertEqual(out, 'src/engine/x.cpp:3: engine may not include report '
                              '("report/line_diff.hpp"); allowed: deployd\n')

    def test_a_public_header_may_include_no_module(self):
        rc, out = self.layers(TABLE, {
            "include/deployd/event.hpp": '#include <report/line_diff.hpp>\n',
            "src/report/line_diff.hpp": "",
            "src/engine/x.cpp": "",
        })
        self.assertEqual(rc, 1)
        self.assertEqual(out, 'include/deployd/event.hpp:1: deployd may not include report '
                              '(<report/line_diff.hpp>); allowed: no other module\n')

    def test_known_debt_allows_that_file_only(self):
        rc, out = self.layers(TABLE + "debt engine -> report: src/engine/x.cpp  # why\n", {
            "include/deployd/event.hpp": "",
            "src/report/line_diff.hpp": "",
            "src/engine/x.cpp": '#include "report/line_diff.hpp"\n',
            "src/engine/y.hpp": '#include "report/line_diff.hpp"\n',
        })
        self.assertEqual(rc, 1)
        self.assertEqual(out, 'src/engine/y.hpp:1: engine may not include report '
                              '("report/line_diff.hpp"); allowed: deployd\n')

    def test_stale_debt_fails(self):
        rc, out = self.layers(TABLE + "\ndebt engine -> report: src/engine/x.cpp\n", {
            "include/deployd/event.hpp": "",
            "src/report/line_diff.hpp": "",
            "src/engine/x.cpp": '#include "deployd/event.hpp"\n',
        })
        self.assertEqual(rc, 1)
        self.assertEqual(out, "src/layers.txt:5: stale debt: src/engine/x.cpp no longer "
                              "includes report; delete the line\n")

    def test_debt_for_an_allowed_arrow_fails(self):
        rc, out = self.layers(TABLE + "debt engine -> deployd: src/engine/x.cpp\n", {
            "include/deployd/event.hpp": "",
            "src/engine/x.cpp": '#include "deployd/event.hpp"\n',
            "src/report/r.hpp": "",
        })
        self.assertEqual(rc, 1)
        self.assertIn("src/layers.txt:4: not debt: engine may include deployd\n", out)

    def test_a_folder_without_a_line_fails(self):
        rc, out = self.layers(TABLE, {
            "include/deployd/event.hpp": "",
            "src/report/r.hpp": "",
            "src/engine/x.cpp": "",
            "src/base/text.hpp": "",
        })
        self.assertEqual(rc, 1)
        self.assertEqual(out, "src/base: module base has no line in src/layers.txt; add "
                              "`base: MODULE...` with the modules it may include\n")

    def test_the_build_step_stamps_a_pass_only_and_lists_what_it_read(self):
        files = {"include/deployd/event.hpp": "", "src/report/r.hpp": "", "src/engine/x.cpp": ""}
        write(self.root, {"src/layers.txt": TABLE, **files})
        stamp, depfile = self.root / "out" / "layers.stamp", self.root / "out" / "layers.d"
        stamp.parent.mkdir()
        build = [CHECK_LAYERS, "--root", self.root, "--stamp", stamp, "--depfile", depfile]
        self.assertEqual(run(*build), (0, ""))
        self.assertTrue(stamp.is_file())
        read = depfile.read_text(encoding="utf-8")
        self.assertTrue(read.startswith(f"{stamp}: "), read)
        for name in ["src/layers.txt", "src", "src/engine", "src/engine/x.cpp",
                     "include/deployd/event.hpp"]:
            self.assertIn(f" {self.root / name}", read)
        stamp.unlink()
        write(self.root, {"src/engine/x.cpp": '#include "report/r.hpp"\n'})
        rc, out = run(*build)
        self.assertEqual(rc, 1)
        self.assertIn("src/engine/x.cpp:1: engine may not include report", out)
        self.assertFalse(stamp.exists())

    def test_a_cycle_in_the_table_fails(self):
        rc, out = self.layers("deployd:\nreport: deployd engine\nengine: deployd report\n", {
            "include/deployd/event.hpp": "",
            "src/report/r.hpp": "",
            "src/engine/x.cpp": "",
        })
        self.assertEqual(rc, 1)
        self.assertEqual(out, "src/layers.txt: the allowed arrows form a cycle, "
                              "report -> engine -> report: layers are one way\n")

    def test_a_malformed_table_line_fails(self):
        rc, out = self.layers(TABLE + "engine -> report\n", {
            "include/deployd/event.hpp": "",
            "src/report/r.hpp": "",
            "src/engine/x.cpp": "",
        })
        self.assertEqual(rc, 1)
        self.assertIn("src/layers.txt:4: expected", out)


class PublicHeadersTest(TreeTest):
    def public_headers(self, files):
        write(self.root, files)
        # A stand-in for Boost or nlohmann: found on the compiler's own search path, as
        # /usr/include is, so only the baseline comparison can refuse it.
        write(self.root, {"system/thirdparty.hpp": "#pragma once\nint thirdparty();\n"})
        compiler = shlex.split(os.environ.get("DEPLOYD_CXX", "g++"))
        return run(CHECK_PUBLIC_HEADERS, "--include", self.root / "include", "--", *compiler,
                   "-isystem", self.root / "system")

    def test_std_only_headers_pass(self):
        rc, out = self.public_headers({
            "include/deployd/a.hpp": "#pragma once\n#include <string>\nstd::string a();\n",
            "include/deployd/b.hpp": '#pragma once\n#include "deployd/a.hpp"\n',
        })
        self.assertEqual(rc, 0, out)
        self.assertEqual(out, "public headers: 2 compile alone with the standard library only\n")

    def test_a_header_reading_a_third_party_header_fails(self):
        rc, out = self.public_headers({
            "include/deployd/a.hpp": "#pragma once\n#include <string>\n",
            "include/deployd/b.hpp": "#pragma once\n#include <thirdparty.hpp>\n",
        })
        self.assertEqual(rc, 1)
        third_party = os.path.realpath(self.root / "system" / "thirdparty.hpp")
        self.assertEqual(out, f"include/deployd/b.hpp: reads {third_party}, which is not the "
                              f"standard library: public headers are std-only\n")

    def test_a_header_that_needs_another_include_first_fails(self):
        rc, out = self.public_headers({
            "include/deployd/a.hpp": "#pragma once\nstd::string a();\n",
        })
        self.assertEqual(rc, 1)
        self.assertTrue(out.startswith("include/deployd/a.hpp: does not compile alone "
                                       "(-std=c++20, -I include only):\n"), out)
        self.assertIn("string", out)


if __name__ == "__main__":
    unittest.main()
