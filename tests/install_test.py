#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`meson install` into a temporary DESTDIR puts deployd, deployd(1), the bash completion and
libdeployd in place, and each works from there: the program runs, the man page renders, the
completion, sourced in bash, offers the options and the task names of the plan on the command
line, and examples/embed/ builds against the installed headers and library alone and runs a plan."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

# VERSION: meson's project version; SOURCE: the source tree (for examples/embed/main.cpp only).
BUILD, PREFIX, BINDIR, MANDIR, DATADIR, VERSION, LIBDIR, SOURCE = sys.argv[1:9]
del sys.argv[1:9]

PLAN = """{ "version": 1, "hosts": ["127.0.0.1"],
  "tasks": { "deploy": { "steps": [ { "run": "true" } ] },
             "restart": { "needs": ["deploy"], "steps": [ { "run": "true" } ] },
             "rollback": { "steps": [ { "run": "true" } ] } } }
"""


def under(root, prefix, path):
    return os.path.join(root, os.path.join(prefix, path).lstrip("/"))


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="deployd-install-")
        cls.root = os.path.join(cls.tmp.name, "root")
        meson = shutil.which("meson")
        if meson is None:
            raise unittest.SkipTest("meson not on PATH")
        done = subprocess.run([meson, "install", "-C", BUILD, "--no-rebuild", "--quiet",
                               "--destdir", cls.root], capture_output=True, text=True)
        if done.returncode != 0:
            raise AssertionError("meson install failed:\n" + done.stdout + done.stderr)
        cls.program = under(cls.root, PREFIX, os.path.join(BINDIR, "deployd"))
        cls.man_page = under(cls.root, PREFIX, os.path.join(MANDIR, "man1", "deployd.1"))
        cls.completion = under(cls.root, PREFIX, os.path.join(DATADIR, "bash-completion", "completions",
                                                             "deployd"))
        with open(os.path.join(cls.tmp.name, "plan.json"), "w") as f:
            f.write(PLAN)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_the_program_is_installed_and_runs(self):
        self.assertTrue(os.access(self.program, os.X_OK), self.program)
        done = subprocess.run([self.program, "--version"], capture_output=True, text=True)
        self.assertEqual(done.stdout, "deployd %s\n" % VERSION)

    def test_the_man_page_is_installed_and_renders(self):
        self.assertTrue(os.path.isfile(self.man_page), self.man_page)
        with open(self.man_page) as f:
            source = f.read()
        for section in (".SH OPTIONS", ".SH EXIT STATUS", ".SH EXAMPLES", ".SH PLAN FORMAT"):
            self.assertIn(section, source)
        # Its title line names the version that --version prints (meson.build's project version).
        title = next(line for line in source.splitlines() if line.startswith(".TH "))
        self.assertIn('"deployd %s"' % VERSION, title)
        if shutil.which("man") is None:
            self.skipTest("no man(1) to render with")
        env = dict(os.environ, MANWIDTH="100", MAN_KEEP_FORMATTING="")
        done = subprocess.run(["man", "-l", self.man_page], capture_output=True, text=True, env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr, "")
        text = done.stdout
        self.assertIn("deployd - run a JSON plan", text)
        self.assertIn("--output stream|group|json", text)
        self.assertIn("Aborted by the failure policy.", text)
        self.assertIn("deployd plan.json deploy -i hosts.json --output group", text)

    def complete(self, *words):
        """What the installed completion offers for `deployd WORDS...` (the last word is being
        typed), run in a clean bash with the installed program first on PATH."""
        script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); '
                  '_deployd; printf "%s\\n" "${COMPREPLY[@]}"')
        env = dict(os.environ, PATH=os.path.dirname(self.program) + os.pathsep + os.environ["PATH"])
        done = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash", self.completion,
                               "deployd"] + list(words), capture_output=True, text=True,
                              cwd=self.tmp.name, env=env)
        self.assertEqual(done.returncode, 0, done.stderr)
        return sorted(line for line in done.stdout.splitlines() if line)

    def test_the_completion_offers_task_names_from_the_plan_given(self):
        self.assertTrue(os.path.isfile(self.completion), self.completion)
        self.assertEqual(self.complete("plan.json", ""), ["deploy", "restart", "rollback"])
        self.assertEqual(self.complete("plan.json", "--output", "group", "r"), ["restart", "rollback"])

    def test_the_completion_offers_options_and_their_values(self):
        self.assertEqual(self.complete("plan.json", "--ou"), ["--output", "--output-dir"])
        self.assertEqual(self.complete("plan.json", "--output", ""), ["group", "json", "stream"])
        self.assertEqual(self.complete("pl"), ["plan.json"])
        self.assertIn("--quiet", self.complete("plan.json", "--"))


    def build_embed(self):
        """examples/embed/main.cpp compiled and linked with what the installed deployd.pc says,
        in a folder outside the source tree: only the installed headers can be found."""
        if shutil.which("pkg-config") is None or shutil.which("c++") is None:
            self.skipTest("no pkg-config or c++")
        env = dict(os.environ, PKG_CONFIG_PATH=under(self.root, PREFIX, os.path.join(LIBDIR, "pkgconfig")),
                   PKG_CONFIG_SYSROOT_DIR=self.root)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "--static", "deployd"],
                               capture_output=True, text=True, env=env)
        self.assertEqual(flags.returncode, 0, flags.stderr)
        self.assertIn("-I" + under(self.root, PREFIX, "include"), flags.stdout)
        self.assertNotIn(SOURCE, flags.stdout)
        program = os.path.join(self.tmp.name, "embed")
        source = os.path.join(SOURCE, "examples", "embed", "main.cpp")
        done = subprocess.run(["c++", "-std=c++20", source, "-o", program] + flags.stdout.split(),
                              capture_output=True, text=True, cwd=self.tmp.name)
        self.assertEqual(done.returncode, 0, done.stderr)
        return program

    def test_a_program_builds_against_the_installed_library_alone_and_runs_a_plan(self):
        program = self.build_embed()
        with open(os.path.join(self.tmp.name, "local.json"), "w") as f:
            f.write('{ "version": 1, "hosts": ["127.0.0.1"], "tasks": { "hello": { "on": "local", '
                    '"steps": [ { "local": "echo hello from the library" } ] } } }')
        done = subprocess.run([program, "local.json"], capture_output=True, text=True, cwd=self.tmp.name,
                              timeout=60)
        self.assertEqual((done.returncode, done.stderr), (0, ""))
        self.assertIn("local: hello from the library\n", done.stdout)
        self.assertTrue(done.stdout.endswith("(exit 0)\n"), done.stdout)
        # A task the plan does not have: nothing runs, the error says why, the status is 2.
        done = subprocess.run([program, "local.json", "nope"], capture_output=True, text=True,
                              cwd=self.tmp.name, timeout=60)
        self.assertEqual(done.returncode, 2)
        self.assertIn('unknown task "nope"', done.stderr)
        self.assertEqual(done.stdout, "")


if __name__ == "__main__":
    unittest.main()
