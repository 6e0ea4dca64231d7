# SPDX-License-Identifier: MIT
"""The complete plans in the docs and the README are valid, so that they cannot rot.

Each is marked in the Markdown by a comment before its code block:
    <!-- example: NAME[; files: a/b.tar.gz c][; writes: lib/x.json=LIB][; args: -H host1,host2] -->
`writes` puts the block marked `<!-- library: LIB -->` (a file a plan imports, or a template:
any fenced language) at that path.
The test writes the plan to a scratch folder with the files it needs, and runs
`deployd PLAN ARGS --dry-run`: the plan must load and print what would run on its hosts.
Needs no fleet: nothing connects."""
import os
import re
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCUMENTS = ["docs/plan-format.md", "README.md"]
MARKER = re.compile(r"<!-- example: ([^;\s]+)([^>]*)-->\s*\n```jsonc?\n(.*?)\n```", re.S)
LIBRARY = re.compile(r"<!-- library: ([^;\s]+)\s*-->\s*\n```[a-z]*\n(.*?)\n```", re.S)


def examples():
    """(document, name, options, plan text) for every marked example."""
    found = []
    for document in DOCUMENTS:
        with open(os.path.join(REPO, document)) as f:
            for name, options, text in MARKER.findall(f.read()):
                found.append((document, name, options, text))
    return found


def libraries():
    """The text of every block marked as a library, by name."""
    found = {}
    for document in DOCUMENTS:
        with open(os.path.join(REPO, document)) as f:
            found.update(LIBRARY.findall(f.read()))
    return found


def option(options, key):
    match = re.search(r";\s*%s:\s*([^;]+)" % key, options)
    return match.group(1).split() if match else []


class DocsExamples(unittest.TestCase):
    def test_the_docs_have_marked_examples(self):
        names = [name for _, name, _, _ in examples()]
        self.assertGreaterEqual(len(names), 4, names)
        self.assertEqual(len(names), len(set(names)), "example names must be unique")

    def test_every_marked_example_loads_and_dry_runs(self):
        for document, name, options, text in examples():
            with self.subTest(example=name, document=document), tempfile.TemporaryDirectory() as folder:
                for needed in option(options, "files"):
                    os.makedirs(os.path.join(folder, os.path.dirname(needed)), exist_ok=True)
                    open(os.path.join(folder, needed), "w").close()
                for written in option(options, "writes"):
                    path, library = written.split("=", 1)
                    os.makedirs(os.path.join(folder, os.path.dirname(path)), exist_ok=True)
                    with open(os.path.join(folder, path), "w") as f:
                        f.write(libraries()[library])
                plan = os.path.join(folder, "plan.json")
                with open(plan, "w") as f:
                    f.write(text)
                done = subprocess.run([os.environ["DEPLOYD"], plan, "--dry-run"] + option(options, "args"),
                                      capture_output=True, text=True, timeout=60)
                self.assertEqual(done.returncode, 0, "%s in %s:\n%s" % (name, document, done.stderr))
                # A host's block, or a block of hosts that run the same steps.
                self.assertRegex(done.stdout, r"(?m)^\S+ \((.*@.*:\d+|\d+ hosts)\)$", "no host in the dry run of " + name)

    def test_every_plan_in_examples_dry_runs(self):
        folder = os.path.join(REPO, "examples")
        plans = sorted(os.path.join(folder, name, "plan.json") for name in os.listdir(folder)
                       if os.path.exists(os.path.join(folder, name, "plan.json")))
        self.assertGreaterEqual(len(plans), 2, plans)  # hello, flask-app
        dry_runs = {}
        for plan in plans:
            with self.subTest(plan=plan):
                done = subprocess.run([os.environ["DEPLOYD"], plan, "--dry-run", "-H", "node001"],
                                      capture_output=True, text=True, timeout=60)
                self.assertEqual(done.returncode, 0, "%s:\n%s" % (plan, done.stderr))
                self.assertIn("node001", done.stdout)
                with open(plan) as f:
                    dry_runs[plan] = (f.read(), done.stdout)
        # A library of examples/lib is dry-run through an example that imports it and runs its
        # tasks (named IMPORT:TASK) by default.
        for library in sorted(os.listdir(os.path.join(folder, "lib"))):
            with self.subTest(library=library):
                users = [plan for plan, (text, out) in dry_runs.items()
                         if '"../lib/%s"' % library in text and re.search(r"(?m)^  \S+:\S+ step 1: ", out)]
                self.assertTrue(users, "no example plan imports and dry-runs examples/lib/" + library)


if __name__ == "__main__":
    unittest.main(verbosity=2)
