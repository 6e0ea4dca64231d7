# SPDX-License-Identifier: MIT
"""Issue 18 end to end: put with sudo, owner and group, get with sudo, on the real fleet."""
import glob
import grp
import os
import pwd
import stat
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, write_json  # noqa: E402

LOGIN = "deployd"  # the fleet's login user: `sudo -n` may run anything (scripts/fleet)
OTHER = "deployd-pw"  # the fleet's password user: no sudo rule
HOSTS = 3


class TransferSudo(FleetTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        os.chmod(cls.dir, 0o755)  # the fleet's users must reach the folders inside
        cls.login = pwd.getpwnam(LOGIN)
        cls.other = pwd.getpwnam(OTHER)
        cls.source = os.path.join(cls.dir, "app.conf")
        with open(cls.source, "w") as f:
            f.write("listen 8080;\n")
        os.chmod(cls.source, 0o644)

    def setUp(self):
        # root's, 0755: the login user cannot write in it, root can.
        self.folder = os.path.join(self.dir, self.id().rsplit(".", 1)[1])
        os.makedirs(self.folder)
        for host in self.names():
            os.makedirs(os.path.join(self.folder, host))

    def names(self):
        return [h["name"] for h in self.inventory["hosts"][:HOSTS]]

    def run_plan(self, steps, hosts=None, env=None, name="plan.json"):
        inventory = dict(self.inventory, hosts=hosts or self.inventory["hosts"][:HOSTS], groups={})
        plan = write_json(self.dir, name, {"version": 1, "tasks": {"t": {"steps": steps}}})
        status, out, err = run_deployd([plan, "-i", write_json(self.dir, "inventory.json", inventory),
                                        "--output", "json"], env=env, timeout=300)
        return status, (events_of(out) if status != 2 else []), err

    def ends(self, events, step):
        return {e["host"]: e for e in events if e["event"] == "step_end" and e["step"] == step}

    def assert_no_leftovers(self):
        """Neither the staged copy in the login folder nor the private folder beside the target."""
        self.assertEqual(glob.glob(os.path.join(self.login.pw_dir, ".deployd-*")), [])
        self.assertEqual(glob.glob(os.path.join(self.folder, "**", ".deployd-*"), recursive=True), [])

    def test_put_with_sudo_installs_with_owner_group_and_mode_then_is_unchanged(self):
        target = self.folder + "/{{host}}/app.conf"
        step = {"put": self.source, "to": target, "sudo": True, "owner": "nobody", "group": "nogroup",
                "mode": "0640"}
        status, events, err = self.run_plan([step])
        self.assertEqual(status, 0, err)
        for host, end in self.ends(events, 0).items():
            self.assertEqual((end["status"], end["transfer"]["unchanged"], end["transfer"]["bytes"]),
                             ("ok", False, 13), end)
            st = os.stat(os.path.join(self.folder, host, "app.conf"))
            self.assertEqual((pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name,
                              stat.S_IMODE(st.st_mode)), ("nobody", "nogroup", 0o640))
            with open(os.path.join(self.folder, host, "app.conf")) as f:
                self.assertEqual(f.read(), "listen 8080;\n")
        self.assert_no_leftovers()
        # Again: content, mode, owner and group are there already.
        status, events, err = self.run_plan([step])
        self.assertEqual(status, 0, err)
        self.assertEqual({h: (e["transfer"]["unchanged"], e["transfer"]["bytes"])
                          for h, e in self.ends(events, 0).items()}, {h: (True, 0) for h in self.names()})
        # Another owner asked for is a change: installed again, with that owner.
        status, events, err = self.run_plan([dict(step, owner="root")])
        self.assertEqual(status, 0, err)
        self.assertEqual({h: e["transfer"]["unchanged"] for h, e in self.ends(events, 0).items()},
                         {h: False for h in self.names()})
        for host in self.names():
            self.assertEqual(os.stat(os.path.join(self.folder, host, "app.conf")).st_uid, 0)
        self.assert_no_leftovers()

    def test_put_with_sudo_as_a_user_writes_as_that_user_who_cannot_read_the_staged_copy(self):
        for host in self.names():
            os.chown(os.path.join(self.folder, host), self.other.pw_uid, self.other.pw_gid)
        status, events, err = self.run_plan([{"put": self.source, "to": self.folder + "/{{host}}/app.conf",
                                              "sudo": OTHER}])
        self.assertEqual(status, 0, err)
        for host in self.names():
            st = os.stat(os.path.join(self.folder, host, "app.conf"))
            # Without a mode, the local file's; without an owner, the user the step writes as.
            self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (self.other.pw_uid, 0o644))
        self.assert_no_leftovers()

    def test_owner_and_group_without_sudo_need_the_login_user_to_be_allowed(self):
        for host in self.names():
            os.chown(os.path.join(self.folder, host), self.login.pw_uid, self.login.pw_gid)
        target = self.folder + "/{{host}}/app.conf"
        status, events, err = self.run_plan([{"put": self.source, "to": target, "owner": LOGIN,
                                              "group": LOGIN, "mode": "0600"}])
        self.assertEqual(status, 0, err)
        for host in self.names():
            st = os.stat(os.path.join(self.folder, host, "app.conf"))
            self.assertEqual((st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)),
                             (self.login.pw_uid, self.login.pw_gid, 0o600))
        status, events, err = self.run_plan([{"put": self.source, "to": target + ".root", "owner": "root"}])
        self.assertEqual(status, 1, err)
        for host, end in self.ends(events, 0).items():
            self.assertEqual(end["status"], "failed")
            self.assertEqual(end["error"],
                             't step 1 (put "%s"): put "%s/%s/app.conf.root": chown: changing ownership of '
                             "'new': Operation not permitted (\"owner\" and \"group\" need \"sudo\" unless "
                             "the login user may set them)" % (self.source, self.folder, host))
            self.assertFalse(os.path.exists(os.path.join(self.folder, host, "app.conf.root")))
        self.assert_no_leftovers()

    def test_get_with_sudo_reads_a_root_only_file_and_keeps_its_mode(self):
        for host in self.names():
            path = os.path.join(self.folder, host, "secret")
            with open(path, "w") as f:
                f.write("secret of %s\n" % host)
            os.chmod(path, 0o600)
        source = self.folder + "/{{host}}/secret"
        status, events, err = self.run_plan([{"get": source, "to": "got/{{host}}", "ignore_errors": True},
                                             {"get": source, "to": "got/{{host}}", "sudo": True}])
        self.assertEqual(status, 0, err)
        for host in self.names():
            self.assertIn("permission denied", self.ends(events, 0)[host]["error"])
            end = self.ends(events, 1)[host]
            self.assertEqual((end["status"], end["transfer"]["bytes"]), ("ok", len("secret of %s\n" % host)))
            got = os.path.join(self.dir, "got", host)
            with open(got) as f:
                self.assertEqual(f.read(), "secret of %s\n" % host)
            self.assertEqual(stat.S_IMODE(os.stat(got).st_mode), 0o600)

    def test_get_with_sudo_refuses_what_get_refuses(self):
        host = self.names()[0]
        fifo = os.path.join(self.folder, host, "fifo")
        os.mkfifo(fifo)
        big = os.path.join(self.folder, host, "big")
        with open(big, "wb") as f:
            f.write(b"x" * 2000)
        status, events, err = self.run_plan([
            {"get": fifo, "to": "got/fifo", "sudo": True, "ignore_errors": True},
            {"get": big, "to": "got/big", "sudo": True, "max_size": 1024, "ignore_errors": True},
            {"get": self.folder + "/absent", "to": "got/absent", "sudo": True, "ignore_errors": True}],
            hosts=self.inventory["hosts"][:1])
        self.assertEqual(status, 0, err)
        # (The step's title shortens a long path: what follows it is compared whole.)
        errors = [self.ends(events, step)[host]["error"].split("): ", 1) for step in range(3)]
        for step, (title, _) in enumerate(errors):
            self.assertTrue(title.startswith('t step %d (get "%s' % (step + 1, self.dir)), title)
        self.assertEqual([cause for _, cause in errors], [
            'get "%s" as root: the remote path is a FIFO, not a regular file' % fifo,
            'get "%s" as root: the remote file is 2000 bytes, more than "max_size" (1024 bytes)' % big,
            'get "%s/absent" as root: no such file or folder' % self.folder])
        for name in ("fifo", "big", "absent"):
            self.assertFalse(os.path.exists(os.path.join(self.dir, "got", name)), name)

    def test_sudo_without_sudo_rights_fails_naming_the_host_and_the_step(self):
        host = dict(self.inventory["hosts"][0], user=OTHER, password_env="FLEET_PASSWORD")
        with open(os.path.join(self.fleet, "password")) as f:
            env = dict(os.environ, FLEET_PASSWORD=f.read().strip())
        target = os.path.join(self.folder, host["name"], "app.conf")
        status, events, err = self.run_plan([{"put": self.source, "to": target, "sudo": True}],
                                            hosts=[host], env=env)
        self.assertEqual(status, 1, err)
        [end] = self.ends(events, 0).values()
        self.assertEqual((end["host"], end["status"]), (host["name"], "failed"))
        self.assertEqual(end["error"], 't step 1 (put "%s"): put "%s" as root: sudo: a password is required'
                         % (self.source, target))
        self.assertFalse(os.path.exists(target))
        self.assertEqual(glob.glob(os.path.join(self.other.pw_dir, ".deployd-*")), [])

    def make_site(self, name):
        """A local folder: files of modes 0644, 0600, 0755, a 0750 subfolder."""
        site = os.path.join(self.dir, name)
        os.makedirs(os.path.join(site, "css"))
        os.makedirs(os.path.join(site, "bin"))
        for path, text, mode in (("index.html", "<p>hi</p>\n", 0o644), ("css/a.css", "p{}\n", 0o600),
                                 ("bin/run", "#!/bin/sh\n", 0o755)):
            with open(os.path.join(site, path), "w") as f:
                f.write(text)
            os.chmod(os.path.join(site, path), mode)
        os.chmod(os.path.join(site, "bin"), 0o750)
        os.chmod(os.path.join(site, "css"), 0o755)
        os.chmod(site, 0o755)
        return site

    def test_recursive_put_with_sudo_installs_a_folder_as_asked_then_is_unchanged(self):
        site = self.make_site("site")
        target = self.folder + "/{{host}}/site"  # in root's 0755 folder: the login user cannot write
        step = {"put": site, "to": target, "recursive": True, "sudo": True, "owner": "nobody",
                "group": "nogroup", "mode": "0751"}
        status, events, err = self.run_plan([step])
        self.assertEqual(status, 0, err)
        for host, end in self.ends(events, 0).items():
            self.assertEqual((end["status"], end["transfer"]["unchanged"], end["transfer"]["bytes"]),
                             ("ok", False, 24), end)
            root = os.path.join(self.folder, host, "site")
            paths = [root] + [os.path.join(folder, name) for folder, names, files in os.walk(root)
                              for name in names + files]
            found = {}
            for path in paths:
                st = os.lstat(path)
                found[os.path.relpath(path, root)] = (pwd.getpwuid(st.st_uid).pw_name,
                                                      grp.getgrgid(st.st_gid).gr_name,
                                                      oct(stat.S_IMODE(st.st_mode)))
            self.assertEqual(found, {".": ("nobody", "nogroup", "0o751"),
                                     "index.html": ("nobody", "nogroup", "0o644"),
                                     "css": ("nobody", "nogroup", "0o755"),
                                     "css/a.css": ("nobody", "nogroup", "0o600"),
                                     "bin": ("nobody", "nogroup", "0o750"),
                                     "bin/run": ("nobody", "nogroup", "0o755")})
            with open(os.path.join(root, "css", "a.css")) as f:
                self.assertEqual(f.read(), "p{}\n")
        self.assert_no_leftovers()
        # Again: every file, folder, mode, owner and group is there already: nothing is sent.
        status, events, err = self.run_plan([step])
        self.assertEqual(status, 0, err)
        self.assertEqual({h: (e["transfer"]["unchanged"], e["transfer"]["bytes"])
                          for h, e in self.ends(events, 0).items()}, {h: (True, 0) for h in self.names()})
        # One file changes: only it crosses the network, the others are copied on the host.
        with open(os.path.join(site, "index.html"), "w") as f:
            f.write("<p>hello</p>\n")
        status, events, err = self.run_plan([step])
        self.assertEqual(status, 0, err)
        self.assertEqual({h: (e["transfer"]["unchanged"], e["transfer"]["bytes"])
                          for h, e in self.ends(events, 0).items()}, {h: (False, 13) for h in self.names()})
        for host in self.names():
            root = os.path.join(self.folder, host, "site")
            with open(os.path.join(root, "index.html")) as f:
                self.assertEqual(f.read(), "<p>hello</p>\n")
            with open(os.path.join(root, "bin", "run")) as f:
                self.assertEqual(f.read(), "#!/bin/sh\n")
            self.assertEqual(pwd.getpwuid(os.stat(os.path.join(root, "bin", "run")).st_uid).pw_name, "nobody")
        self.assert_no_leftovers()

    def test_recursive_put_with_sudo_refuses_a_file_at_the_target_and_needs_sudo_rights(self):
        site = self.make_site("site2")
        host = self.names()[0]
        with open(os.path.join(self.folder, host, "site"), "w") as f:
            f.write("a file\n")
        status, events, err = self.run_plan([{"put": site, "to": self.folder + "/{{host}}/site",
                                              "recursive": True, "sudo": True}],
                                            hosts=self.inventory["hosts"][:1])
        self.assertEqual(status, 1, err)
        self.assertTrue(self.ends(events, 0)[host]["error"].endswith(
            'put "%s/%s/site" as root: the remote path exists and is not a folder' % (self.folder, host)),
            self.ends(events, 0)[host]["error"])
        other = dict(self.inventory["hosts"][0], user=OTHER, password_env="FLEET_PASSWORD")
        with open(os.path.join(self.fleet, "password")) as f:
            env = dict(os.environ, FLEET_PASSWORD=f.read().strip())
        status, events, err = self.run_plan([{"put": site, "to": self.folder + "/{{host}}/new",
                                              "recursive": True, "sudo": True}], hosts=[other], env=env)
        self.assertEqual(status, 1, err)
        self.assertTrue(self.ends(events, 0)[host]["error"].endswith(
            'put "%s/%s/new" as root: sudo: a password is required' % (self.folder, host)), events)
        self.assertFalse(os.path.exists(os.path.join(self.folder, host, "new")))
        self.assert_no_leftovers()
        self.assertEqual(glob.glob(os.path.join(self.other.pw_dir, ".deployd-*")), [])

    def test_recursive_get_with_sudo_reads_a_root_only_folder(self):
        for host in self.names():
            secret = os.path.join(self.folder, host, "secret")
            os.makedirs(os.path.join(secret, "keys"))
            with open(os.path.join(secret, "keys", "key"), "w") as f:
                f.write("key of %s\n" % host)
            os.chmod(os.path.join(secret, "keys", "key"), 0o600)
            os.chmod(os.path.join(secret, "keys"), 0o700)
            os.chmod(secret, 0o750)
        source = self.folder + "/{{host}}/secret"
        status, events, err = self.run_plan([
            {"get": source, "to": "gotdir/{{host}}", "recursive": True, "ignore_errors": True},
            {"get": source, "to": "gotdir/{{host}}", "recursive": True, "sudo": True},
            {"get": self.folder + "/{{host}}/absent", "to": "gotdir/absent-{{host}}", "recursive": True,
             "sudo": True, "ignore_errors": True}])
        self.assertEqual(status, 0, err)
        for host in self.names():
            self.assertEqual(self.ends(events, 0)[host]["status"], "failed")
            end = self.ends(events, 1)[host]
            self.assertEqual((end["status"], end["transfer"]["bytes"]), ("ok", len("key of %s\n" % host)))
            got = os.path.join(self.dir, "gotdir", host)
            with open(os.path.join(got, "keys", "key")) as f:
                self.assertEqual(f.read(), "key of %s\n" % host)
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(got, "keys", "key")).st_mode), 0o600)
            self.assertEqual(stat.S_IMODE(os.stat(os.path.join(got, "keys")).st_mode), 0o700)
            self.assertTrue(self.ends(events, 2)[host]["error"].endswith(
                'get "%s/%s/absent" as root: no such file or folder' % (self.folder, host)),
                self.ends(events, 2)[host]["error"])
        self.assert_no_leftovers()

    def test_owner_on_a_get_is_a_plan_error(self):
        status, _, err = self.run_plan([{"get": "/etc/hostname", "to": "x/{{host}}", "owner": "root"}])
        self.assertEqual(status, 2)
        self.assertIn('/tasks/t/steps/0: "owner" is only used with "put" and "template"', err)


if __name__ == "__main__":
    unittest.main()
