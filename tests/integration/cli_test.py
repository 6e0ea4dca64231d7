# SPDX-License-Identifier: MIT
"""Issue 19, "A CLI that follows the conventions": usage errors in deployd's words, --help as the
man page writes it, and --help, the man page (docs/deployd.1) and the bash completion
(docs/deployd.bash) that cannot drift apart. Needs no fleet: nothing connects."""
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import SEE_HELP, deployd_binary, run_deployd, write_json  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAN = os.path.join(REPO, "docs", "deployd.1")
COMPLETION = os.path.join(REPO, "docs", "deployd.bash")


def help_text(columns=100):
    done = subprocess.run([deployd_binary(), "--help"], capture_output=True, text=True,
                          env=dict(os.environ, COLUMNS=str(columns)))
    assert done.returncode == 0, done.stderr
    return done.stdout


def help_options(text):
    """{"--hosts": "H1,H2", "-H": "H1,H2", "--list": "", ...} from the Options section of --help."""
    section = text.split("\nOptions:\n")[1].split("\n\n")[0]
    options = {}
    for line in section.splitlines():
        match = re.match(r"^  (?:    )?(-\S.*?)(?: {2,}|$)", line)
        if match:
            add_entry(options, match.group(1))
    return options


def add_entry(options, entry):
    """`-H, --hosts H1,H2` -> both names with the metavar."""
    words = entry.split()
    names = []
    while words and words[0].startswith("-"):
        names.append(words.pop(0).rstrip(","))
    for name in names:
        options[name] = " ".join(words)


def troff_text(line):
    """A .B/.BR/.BI/.I line's words as man shows them: fonts dropped, quoted arguments kept."""
    words = shlex.split(line.split(" ", 1)[1].replace("\\-", "-").replace("\\(dq", '"'))
    return re.sub(r"\\f[BIRP]", "", "".join(words))


def man_options():
    """The options the man page's OPTIONS section lists (each `.TP` head), as help_options."""
    with open(MAN) as f:
        text = f.read()
    section = text.split(".SH OPTIONS\n")[1].split("\n.SS ")[0]
    options = {}
    lines = section.splitlines()
    for i, line in enumerate(lines):
        if line == ".TP" and i + 1 < len(lines):
            add_entry(options, troff_text(lines[i + 1]))
    return options


def man_exit_statuses():
    with open(MAN) as f:
        text = f.read()
    section = text.split(".SH EXIT STATUS\n")[1].split("\n.SH ")[0]
    return re.findall(r"^\.TP\n\.B (\d+)$", section, re.M)


def complete(words, cwd=None):
    """What the completion offers for `words` (the last one is being completed)."""
    script = ('source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _deployd; printf "%%s\\n" "${COMPREPLY[@]}"'
              % (shlex.quote(COMPLETION), " ".join(shlex.quote(w) for w in [deployd_binary()] + words),
                 len(words)))
    done = subprocess.run(["bash", "--norc", "-c", script], capture_output=True, text=True, cwd=cwd)
    return sorted(line for line in done.stdout.splitlines() if line)


class Scratch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="deployd-cli-")
        cls.dir = cls.tmp.name
        cls.plan = write_json(cls.dir, "plan.json", {
            "hosts": ["web[1:2]", "db1"], "groups": {"web": ["web1", "web2"]},
            "tasks": {"deploy": {"steps": [{"run": "true"}]}, "check": {"steps": [{"run": "true"}]}}})
        write_json(cls.dir, "inv.json", {"vars": {"x": "1"}})

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()


class UsageErrors(Scratch):
    def assert_usage_error(self, args, message):
        status, out, err = run_deployd(args, cwd=self.dir)
        self.assertEqual((status, out, err), (2, "", "deployd: error: " + message))

    def test_a_bad_count_of_forks_says_what_is_expected(self):
        for value in ("0", "abc", "-3"):
            self.assert_usage_error(
                ["plan.json", "-f", value],
                '--forks: expected a whole number from 1 to 100000, got "%s"' % value + SEE_HELP)

    def test_a_bad_enum_value_suggests_the_closest_and_lists_them(self):
        self.assert_usage_error(["plan.json", "--output", "grouped"],
                                '--output: unknown value "grouped" (did you mean "group"?); '
                                'expected stream|group|json' + SEE_HELP)
        self.assert_usage_error(["plan.json", "--color", "allways"],
                                '--color: unknown value "allways" (did you mean "always"?); '
                                'expected auto|always|never' + SEE_HELP)

    def test_numeric_enum_values_are_not_accepted(self):
        self.assert_usage_error(["plan.json", "--output", "1"],
                                '--output: unknown value "1"; expected stream|group|json' + SEE_HELP)

    def test_an_unknown_option_suggests_the_closest(self):
        self.assert_usage_error(["plan.json", "--dryrun"],
                                'unknown option "--dryrun" (did you mean "--dry-run"?)' + SEE_HELP)
        self.assert_usage_error(["plan.json", "--limits", "web1"],
                                'unknown option "--limits" (did you mean "--limit"?)' + SEE_HELP)
        self.assert_usage_error(["--frobnicate"], 'unknown option "--frobnicate"' + SEE_HELP)

    def test_a_missing_plan_or_value_says_the_usage(self):
        self.assert_usage_error([], "a PLAN is required (or -- COMMAND to run one command on the hosts, or "
                                    "--retry-failed RUN_ID)" + SEE_HELP)
        self.assert_usage_error(["plan.json", "--output"], "--output needs a value: stream|group|json" + SEE_HELP)

    def test_hosts_separated_by_a_space_hint_at_the_comma(self):
        status, out, err = run_deployd(["plan.json", "-H", "web1", "web2", "-n"], cwd=self.dir)
        self.assertEqual((status, out), (2, ""))
        self.assertEqual(err, 'deployd: error: unknown task "web2" (-H takes one comma-separated list: '
                              '-H web1,web2)\n')

    def test_show_and_runs_say_theirs_too(self):
        status, out, err = run_deployd(["show", "x", "--output", "grup"], cwd=self.dir)
        self.assertEqual((status, out, err), (2, "", 'deployd: error: --output: unknown value "grup" (did you '
                                                     'mean "group"?); expected stream|group (see deployd show --help)\n'))
        status, out, err = run_deployd(["runs", "-n", "0"], cwd=self.dir)
        self.assertEqual((status, out, err), (2, "", 'deployd: error: --max-count: expected a whole number from 1 '
                                                     'to 1000000, got "0" (see deployd runs --help)\n'))
        status, out, err = run_deployd(["runs", "--lgo-dir", "x"], cwd=self.dir)
        self.assertEqual((status, out, err), (2, "", 'deployd: error: unknown option "--lgo-dir" (did you mean '
                                                     '"--log-dir"?) (see deployd runs --help)\n'))


class Help(unittest.TestCase):
    def test_help_writes_options_as_the_man_page_does(self):
        text = help_text()
        self.assertTrue(text.startswith("Usage: deployd PLAN [TASK...] [OPTIONS]\n"), text)
        self.assertIn("\n      --output stream|group|json\n", text)
        self.assertIn("\n      --retry-failed [RUN_ID]\n" + " " * 28 + "rerun the failed", text)
        self.assertIn("\n  -H, --hosts H1,H2         ", text)
        self.assertNotIn("ENUM", text)
        self.assertNotIn("TEXT", text)
        self.assertNotIn("--task-names", text)

    def test_help_has_exit_statuses_and_three_examples(self):
        text = help_text()
        statuses = re.findall(r"^  (\d+) +\S", text.split("\nExit status:\n")[1].split("\n\n")[0], re.M)
        self.assertEqual(statuses, ["0", "1", "2", "3", "70", "74", "129", "130", "143"])
        examples = text.split("\nExamples:\n")[1].split("\n\n")[0].splitlines()
        self.assertEqual(len(examples), 3, examples)
        self.assertTrue(all(line.startswith("  deployd plan.json ") for line in examples), examples)

    def test_help_is_wrapped_to_the_width(self):
        for columns in (60, 100):
            text = help_text(columns)
            examples = text.split("\nExamples:\n")[1].split("\n\n")[0]
            # The examples are commands, kept whole to be copied; everything else is wrapped.
            for line in text.replace(examples, "").splitlines():
                # A line may pass the width only with one word that cannot be broken.
                if len(line) > columns:
                    self.assertNotIn(" ", line.strip(), line)


class NoDrift(Scratch):
    def test_the_man_page_lists_the_options_of_help_with_the_same_values(self):
        self.assertEqual(man_options(), help_options(help_text()))

    def test_the_man_page_has_the_exit_statuses_of_help(self):
        text = help_text()
        statuses = re.findall(r"^  (\d+) +\S", text.split("\nExit status:\n")[1].split("\n\n")[0], re.M)
        self.assertEqual(man_exit_statuses(), statuses)

    def test_completion_offers_the_options_of_help(self):
        self.assertEqual(complete(["-"]), sorted(help_options(help_text())))

    def test_completion_offers_the_values_of_each_enum_option(self):
        for name, metavar in help_options(help_text()).items():
            if re.fullmatch(r"[a-z]+(\|[a-z]+)+", metavar):
                self.assertEqual(complete(["plan.json", name, ""], cwd=self.dir), sorted(metavar.split("|")), name)

    def test_completion_knows_which_options_take_a_value(self):
        # After OPTION VALUE, the plan is the next word: its tasks are offered after it.
        for name, metavar in help_options(help_text()).items():
            if name in ("-h", "--help", "--version"):
                continue
            words = [name, "inv.json"] if metavar and not metavar.startswith("[") else [name]
            self.assertEqual(complete(words + ["plan.json", ""], cwd=self.dir), ["check", "deploy"], name)

    def test_completion_offers_hosts_and_groups_after_hosts_and_limit(self):
        for option in ("-H", "--hosts", "--limit"):
            self.assertEqual(complete(["plan.json", option, ""], cwd=self.dir),
                             ["all", "db1", "web", "web1", "web2"], option)
        self.assertEqual(complete(["plan.json", "-H", "db1,we"], cwd=self.dir), ["db1,web", "db1,web1", "db1,web2"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
