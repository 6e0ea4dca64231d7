# SPDX-License-Identifier: MIT
"""Issue 18 end to end: put and get of folders (`"recursive": true`) on the real fleet."""
import glob
import os
import pwd
import shutil
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, write_json  # noqa: E402

LOGIN = "deployd"  # the fleet's login user
HOSTS = 3


def tree_of(root):
    """{relative path: (kind, mode, content)} of everything below `root`."""
    found = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            content = None
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    content = f.read()
            found[os.path.relpath(path, root)] = ("d" if stat.S_ISDIR(st.st_mode) else "f",
                                                  stat.S_IMODE(st.st_mode), content)
    return found


class TransferFolder(FleetTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        os.chmod(cls.dir, 0o755)  # the login user must reach the folders inside
        cls.user = pwd.getpwnam(LOGIN)

    def setUp(self):
        self.work = os.path.join(self.dir, self.id().rsplit(".", 1)[1])
        os.makedirs(self.work)
        self.remote = os.path.join(self.work, "remote")
        os.makedirs(self.remote)
        for folder in [self.remote] + [os.path.join(self.remote, n) for n in self.names()]:
            os.makedirs(folder, exist_ok=True)
            os.chown(folder, self.user.pw_uid, self.user.pw_gid)

    def names(self):
        return [h["name"] for h in self.inventory["hosts"][:HOSTS]]

    def run_plan(self, steps):
        inventory = dict(self.inventory, hosts=self.inventory["hosts"][:HOSTS], groups={})
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"steps": steps}}})
        status, out, err = run_deployd([plan, "-i", write_json(self.work, "inventory.json", inventory),
                                        "--output", "json"], timeout=300)
        return status, (events_of(out) if status != 2 else []), err

    def ends(self, events, step=0):
        return {e["host"]: e for e in events if e["event"] == "step_end" and e["step"] == step}

    def make_site(self):
        site = os.path.join(self.work, "site")
        for path, content, mode in (("index.html", b"<h1>hi</h1>\n", 0o644),
                                    ("css/main.css", b"body{}\n" * 100, 0o640),
                                    ("js/lib/app.js", os.urandom(100000), 0o600),
                                    ("bin/run", b"#!/bin/sh\n", 0o755),
                                    ("empty", b"", 0o644)):
            os.makedirs(os.path.dirname(os.path.join(site, path)), exist_ok=True)
            with open(os.path.join(site, path), "wb") as f:
                f.write(content)
            os.chmod(os.path.join(site, path), mode)
        os.makedirs(os.path.join(site, "uploads"))  # an empty folder travels too
        os.chmod(os.path.join(site, "js"), 0o750)
        return site

    def assert_no_temp_files(self, folder):
        self.assertEqual(glob.glob(os.path.join(folder, "**", ".*.deployd-*"), recursive=True), [])

    def test_a_folder_arrives_whole_then_is_unchanged_then_only_changes_are_sent(self):
        site = self.make_site()
        step = {"put": "site", "to": self.remote + "/{{host}}/site", "recursive": True}
        status, events, err = self.run_plan([step])
        self.assertEqual(status, 0, err)
        for host, end in self.ends(events).items():
            self.assertEqual((end["status"], end["transfer"]["unchanged"], end["transfer"]["bytes"]),
                             ("ok", False, 12 + 700 + 100000 + 10), end)
            self.assertEqual(tree_of(os.path.join(self.remote, host, "site")), tree_of(site), host)
        self.assert_no_temp_files(self.remote)

        status, events, err = self.run_plan([step])
        self.assertEqual(status, 0, err)
        self.assertEqual({h: (e["transfer"]["unchanged"], e["transfer"]["bytes"]) for h, e in self.ends(events).items()},
                         {h: (True, 0) for h in self.names()})

        # One file changed, one added, one removed: only the first two cross the network, and the
        # folder on the host is the local one again, the removed file gone.
        with open(os.path.join(site, "index.html"), "wb") as f:
            f.write(b"<h1>hello</h1>\n")
        with open(os.path.join(site, "css/new.css"), "wb") as f:
            f.write(b"p{}\n")
        os.chmod(os.path.join(site, "css/new.css"), 0o644)
        os.remove(os.path.join(site, "bin/run"))
        status, events, err = self.run_plan([step])
        self.assertEqual(status, 0, err)
        for host, end in self.ends(events).items():
            self.assertEqual((end["transfer"]["unchanged"], end["transfer"]["bytes"]), (False, 15 + 4), end)
            self.assertEqual(tree_of(os.path.join(self.remote, host, "site")), tree_of(site), host)
        self.assert_no_temp_files(self.remote)

    def diff(self, steps):
        inventory = dict(self.inventory, hosts=self.inventory["hosts"][:HOSTS], groups={})
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"steps": steps}}})
        return run_deployd([plan, "-i", write_json(self.work, "inventory.json", inventory), "--diff"],
                           timeout=300)

    def test_diff_names_each_entry_a_folder_put_would_change_and_changes_nothing(self):
        site = self.make_site()
        step = {"put": "site", "to": self.remote + "/{{host}}/site", "recursive": True}
        # The same folder installed as root (sudo): a 0600 file there is root's alone, so the
        # diff must list and hash it through sudo to find it unchanged.
        as_root = dict(step, to=self.remote + "/{{host}}/root-site", sudo=True)
        status, events, err = self.run_plan([step, as_root])
        self.assertEqual(status, 0, err)
        first, second, third = (os.path.join(self.remote, h, "site") for h in self.names())
        # node001's edited by hand: a file changed, one deleted, a folder added, a mode changed.
        with open(first + "/index.html", "wb") as f:
            f.write(b"<h1>edited</h1>\n")
        os.remove(first + "/css/main.css")
        os.makedirs(first + "/cache/x")
        with open(first + "/cache/x/y", "w") as f:
            f.write("y")
        os.chmod(first + "/bin/run", 0o700)
        shutil.rmtree(second)  # node002's is gone; node003's is as installed
        before = tree_of(self.remote)
        status, out, err = self.diff([step, as_root])
        self.assertEqual(status, 0, out + err)
        self.assertIn('  t step 1 (put "site"): %s/ would change\n'
                      "    ~ bin/run (mode 0700 -> 0755)\n"
                      "    - cache (folder and all it holds, removed)\n"
                      "    + css/main.css (new file, 700 bytes)\n"
                      "    ~ index.html (content)\n"
                      "--- %s:%s/index.html\n+++ %s:%s/index.html (planned)\n@@ -1 +1 @@\n"
                      "-<h1>edited</h1>\n+<h1>hi</h1>\n"
                      '  t step 2 (put "site"): %s/%s/root-site/ unchanged\n'
                      % (first, self.names()[0], first, self.names()[0], first, self.remote, self.names()[0]),
                      out)
        self.assertIn('  t step 1 (put "site"): %s/ would change\n    + . (new folder)\n    + bin (new folder)\n'
                      % second, out)
        self.assertIn('  t step 1 (put "site"): %s/ unchanged\n' % third, out)
        # Entries looked at: node001's 10 planned, 3 only there and the folder; node002's 10 and
        # the folder; node003's 10 and the folder; the root-site copies 11 each.
        self.assertTrue(out.endswith("diff only, nothing was changed: 15 of 69 files would change, "
                                     "on 2 of 3 hosts\n"), out)
        self.assertEqual(tree_of(self.remote), before)  # nothing changed

    def test_show_files_lists_a_folder_puts_entries_without_connecting(self):
        site = self.make_site()
        inventory = dict(self.inventory, hosts=[dict(h, port=1) for h in self.inventory["hosts"][:1]], groups={})
        plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"steps": [
            {"put": "site", "to": "/srv/site", "recursive": True}]}}})
        status, out, err = run_deployd([plan, "-i", write_json(self.work, "inventory.json", inventory),
                                        "--dry-run", "--show-files"])
        self.assertEqual(status, 0, err)
        self.assertIn("  t step 1: put site -> /srv/site\n    10 files and folders, 100722 bytes:\n"
                      "    | bin/ (0755)\n    | bin/run (0755, 10 bytes)\n    | css/ (0755)\n"
                      "    | css/main.css (0640, 700 bytes)\n    | empty (0644, 0 bytes)\n", out)
        self.assertIn("    | js/lib/app.js (0600, 100000 bytes)\n", out)
        self.assertTrue(os.path.isdir(site))

    def test_many_files_go_over_several_sftp_channels_of_the_one_session_whole(self):
        # 400 small files: the put pipelines them over 4 SFTP channels of the host's session,
        # each an sftp-server child of the connection's sshd, as the next step's shell is.
        site = os.path.join(self.work, "many")
        for i in range(400):
            path = os.path.join(site, "d%d" % (i % 7), "f%03d" % i)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(os.urandom(1 + i * 37 % 5000))
            os.chmod(path, (0o600, 0o640, 0o644, 0o755)[i % 4])
        status, events, err = self.run_plan([
            {"put": site, "to": self.remote + "/{{host}}/many", "recursive": True},
            {"run": "ps -o comm= --ppid $PPID | grep -c sftp-server", "register": "channels"}])
        self.assertEqual(status, 0, err)
        outputs = {e["host"]: e["line"] for e in events if e["event"] == "output" and e["step"] == 1}
        self.assertEqual(outputs, {h: "4" for h in self.names()})
        for host in self.names():
            self.assertEqual(tree_of(os.path.join(self.remote, host, "many")), tree_of(site))
        self.assert_no_temp_files(self.remote)

    def deep_folder(self, host):
        """A folder of the host's whose path is ~3,800 bytes long (made one level at a time, as
        the path is too long for one call), the login user's; its path."""
        path = os.path.join(self.remote, host)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        for _ in range(15):
            name = "a" * 250
            os.mkdir(name, dir_fd=fd)
            os.chown(name, self.user.pw_uid, self.user.pw_gid, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
            path += "/" + name
        return path, fd

    def test_a_file_that_cannot_be_created_mid_pipeline_fails_the_step_and_the_session_goes_on(self):
        # Beside a target ~3,800 bytes deep, the temporary folder's path plus a 200-byte name
        # passes PATH_MAX: its create fails while the other files' requests are in flight.
        site = os.path.join(self.work, "deep")
        os.makedirs(site)
        for i in range(120):
            name = "L" * 200 if i == 60 else "f%03d" % i
            with open(os.path.join(site, name), "w") as f:
                f.write("file %d\n" % i)
        host = self.names()[0]
        deep, fd = self.deep_folder(host)
        try:
            inventory = dict(self.inventory, hosts=self.inventory["hosts"][:1], groups={})
            plan = write_json(self.work, "plan.json", {"version": 1, "tasks": {"t": {"steps": [
                {"put": site, "to": deep + "/site", "recursive": True, "ignore_errors": True},
                {"run": "echo still here"}]}}})
            status, out, err = run_deployd([plan, "-i", write_json(self.work, "inventory.json", inventory),
                                            "--output", "json"], timeout=300)
            events = events_of(out)
            self.assertEqual(status, 0, err)
            end = self.ends(events)[host]
            self.assertEqual(end["status"], "failed")
            self.assertIn(": cannot create ", end["error"])
            self.assertIn("/" + "L" * 200 + '": ', end["error"])
            # The pipeline drained and closed its files: the session runs the next step.
            self.assertEqual([e["line"] for e in events if e["event"] == "output"], ["still here"])
            self.assertEqual(os.listdir(fd), [])  # no site, no temporary folder left
        finally:
            os.close(fd)

    def test_a_file_where_the_folder_goes_fails_and_stays(self):
        self.make_site()
        for host in self.names():
            with open(os.path.join(self.remote, host, "site"), "w") as f:
                f.write("a file")
        status, events, err = self.run_plan([{"put": "site", "to": self.remote + "/{{host}}/site",
                                              "recursive": True}])
        self.assertEqual(status, 1, err)
        for host, end in self.ends(events).items():
            self.assertEqual(end["error"], 't step 1 (put "site"): put "%s/%s/site": the remote path exists '
                             'and is not a folder' % (self.remote, host))
            with open(os.path.join(self.remote, host, "site")) as f:
                self.assertEqual(f.read(), "a file")

    def test_a_symlink_or_a_missing_folder_is_a_plan_error(self):
        site = self.make_site()
        os.symlink("/etc/passwd", os.path.join(site, "css", "link"))
        status, _, err = self.run_plan([{"put": "site", "to": "/tmp/x", "recursive": True}])
        self.assertEqual(status, 2)
        self.assertIn('/tasks/t/steps/0/put: local folder "site" holds "css/link", a symlink: a recursive put '
                      'sends folders and regular files only', err)
        status, _, err = self.run_plan([{"put": "nope", "to": "/tmp/x", "recursive": True}])
        self.assertEqual(status, 2)
        self.assertIn('/tasks/t/steps/0/put: local folder "nope" does not exist', err)

    def test_get_fetches_each_hosts_folder_and_replaces_an_old_copy(self):
        for host in self.names():
            shutil.copytree(self.make_site() if host == self.names()[0] else os.path.join(self.work, "site"),
                            os.path.join(self.remote, host, "site"))
            with open(os.path.join(self.remote, host, "site", "host"), "w") as f:
                f.write(host)
            for folder, _, files in os.walk(os.path.join(self.remote, host, "site")):
                for path in [folder] + [os.path.join(folder, name) for name in files]:
                    os.chown(path, self.user.pw_uid, self.user.pw_gid)
        got = os.path.join(self.work, "got")
        old = os.path.join(got, self.names()[0])
        os.makedirs(old)
        with open(os.path.join(old, "stale"), "w") as f:
            f.write("from before")
        step = {"get": self.remote + "/{{host}}/site", "to": "got/{{host}}", "recursive": True}
        status, events, err = self.run_plan([step])
        self.assertEqual(status, 0, [e for e in events if e.get("status") == "failed"])
        for host, end in self.ends(events).items():
            self.assertEqual(end["status"], "ok", end)
            self.assertEqual(tree_of(os.path.join(got, host)), tree_of(os.path.join(self.remote, host, "site")))
        self.assert_no_temp_files(got)

    def test_get_refuses_a_folder_holding_a_symlink(self):
        host = self.names()[0]
        folder = os.path.join(self.remote, host, "logs")
        os.makedirs(folder)
        os.symlink("/dev/zero", os.path.join(folder, "zero"))
        status, events, err = self.run_plan([{"get": self.remote + "/{{host}}/logs", "to": "got/{{host}}",
                                              "recursive": True, "ignore_errors": True}])
        end = self.ends(events)[host]
        self.assertEqual(end["error"].split("): ", 1)[1],  # after the step's title, which shortens paths
                         'get "%s/logs": "%s/zero" is a symlink: a recursive get fetches folders and regular '
                         'files only' % (os.path.dirname(folder), folder))
        self.assertFalse(os.path.exists(os.path.join(self.work, "got", host)))
        self.assert_no_temp_files(os.path.join(self.work, "got"))


if __name__ == "__main__":
    unittest.main()
