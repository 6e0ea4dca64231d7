# SPDX-License-Identifier: MIT
"""Inventories people already have, on the real fleet: an Ansible INI and a YAML inventory of the
fleet, `-H @hosts.txt`, paths relative to the inventory's folder, and DEPLOYD_INVENTORY."""
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from fleet_support import FleetTestCase, events_of, run_deployd, write_json  # noqa: E402

PLAN = {"version": 1, "tasks": {"t": {"steps": [{"run": "echo {{app}} $(id -un) {{host.port}}"}]}}}


def stdout_by_host(out):
    lines = {}
    for event in events_of(out):
        if event["event"] == "output" and event["stream"] == "stdout":
            lines.setdefault(event["host"], []).append(event["line"])
    return lines


class InventoryFormats(FleetTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hosts = cls.inventory["hosts"][:4]
        defaults = cls.inventory["defaults"]
        # The key and known_hosts beside the inventories, named relatively: they must resolve
        # against the inventory's folder, not the current one.
        cls.inv_dir = os.path.join(cls.dir, "inventories")
        os.makedirs(cls.inv_dir)
        shutil.copy(defaults["identity"], os.path.join(cls.inv_dir, "fleet_key"))
        os.chmod(os.path.join(cls.inv_dir, "fleet_key"), 0o600)
        shutil.copy(defaults["known_hosts"], os.path.join(cls.inv_dir, "fleet_known_hosts"))
        # Ansible has no known_hosts variable: a JSON inventory beside them gives it.
        cls.keys = write_json(cls.inv_dir, "keys.json",
                              {"defaults": {"known_hosts": "fleet_known_hosts", "host_key_check": "strict"}})
        # Everything -H hosts need, for DEPLOYD_INVENTORY.
        cls.default = write_json(cls.inv_dir, "default.json",
                                 {"defaults": {"known_hosts": "fleet_known_hosts", "identity": "fleet_key",
                                               "user": "deployd", "host_key_check": "strict"}})
        cls.plan = write_json(cls.dir, "plan.json", PLAN)
        cls.elsewhere = os.path.join(cls.dir, "elsewhere")
        os.makedirs(cls.elsewhere)

    def run_plan(self, *args, env=None):
        return run_deployd([self.plan, "--output", "json", "--log-dir", os.path.join(self.dir, "logs")]
                           + list(args), cwd=self.elsewhere, env=env)

    def write(self, name, text):
        path = os.path.join(self.inv_dir, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def expected(self, apps):
        port = self.hosts[0]["port"]
        return {h["name"]: ["%s deployd %d" % (app, port)] for h, app in zip(self.hosts, apps)}

    def test_an_ansible_ini_inventory_of_the_fleet_runs(self):
        h = self.hosts
        line = "{0} ansible_host={1} ansible_port={2}"
        ini = self.write("fleet.ini", "\n".join([
            "# the fleet, as Ansible reads it",
            line.format(h[0]["name"], h[0]["address"], h[0]["port"]) + " app=solo",
            "[web]",
            line.format(h[1]["name"], h[1]["address"], h[1]["port"]),
            line.format(h[2]["name"], h[2]["address"], h[2]["port"]),
            "[db]",
            line.format(h[3]["name"], h[3]["address"], h[3]["port"]),
            "[front:children]", "web", "db",
            "[front:vars]", "app=front",
            "[web:vars]", "app=\"web app\"",
            "[all:vars]", "ansible_user=deployd", "ansible_ssh_private_key_file=fleet_key", ""]))
        status, out, err = self.run_plan("-i", os.path.relpath(ini, self.elsewhere),
                                         "-i", self.keys)
        self.assertEqual(status, 0, err)
        self.assertEqual(stdout_by_host(out), self.expected(["solo", "web app", "web app", "front"]))

    def test_an_ansible_yaml_inventory_of_the_fleet_runs(self):
        h = self.hosts

        def host(entry):
            return "        %s: {ansible_host: %s, ansible_port: %d}" % (
                entry["name"], entry["address"], entry["port"])

        yml = self.write("fleet.yml", "\n".join([
            "all:",
            "  vars:",
            "    ansible_user: deployd",
            "    ansible_ssh_private_key_file: fleet_key",
            "    app: all",
            "  children:",
            "    web:",
            "      hosts:", host(h[0]), host(h[1]),
            "      vars: {app: web}",
            "    db:",
            "      hosts:", host(h[2]), host(h[3]), ""]))
        status, out, err = self.run_plan("-i", yml, "-i", self.keys)
        self.assertEqual(status, 0, err)
        self.assertEqual(stdout_by_host(out), self.expected(["web", "web", "all", "all"]))

    def test_a_host_list_and_the_default_inventory(self):
        hosts_txt = self.write("hosts.txt", "# the fleet\n\n" + "".join(
            "%s:%d  # %s\n" % (h["address"], h["port"], h["name"]) for h in self.hosts[:2]))
        env = dict(os.environ, DEPLOYD_INVENTORY=self.default)
        status, out, err = self.run_plan("-H", "@" + hosts_txt, "--var", "app=listed", env=env)
        self.assertEqual(status, 0, err)
        port = self.hosts[0]["port"]
        self.assertEqual(stdout_by_host(out), {h["address"]: ["listed deployd %d" % port]
                                               for h in self.hosts[:2]})

    def test_a_missing_default_inventory_is_named_and_i_overrides_it(self):
        missing = os.path.join(self.dir, "missing.ini")
        env = dict(os.environ, DEPLOYD_INVENTORY=missing)
        status, out, err = self.run_plan(env=env)
        self.assertEqual(status, 2, err)
        self.assertEqual(err, "deployd: error: DEPLOYD_INVENTORY=%s: no such file (unset it, or set it "
                              "empty)\n" % missing)
        h = self.hosts[0]
        status, out, err = self.run_plan("-i", self.default, "-H", "%s:%d" % (h["address"], h["port"]),
                                         "--var", "app=given", env=env)
        self.assertEqual(status, 0, err)
        self.assertEqual(stdout_by_host(out), {h["address"]: ["given deployd %d" % h["port"]]})

    def test_an_identity_missing_beside_the_inventory_is_named_by_its_path(self):
        bad = write_json(self.inv_dir, "bad.json", {"defaults": {"identity": "no_such_key"}})
        h = self.hosts[0]
        status, out, err = self.run_plan("-i", self.default, "-i", bad, "-H",
                                         "%s:%d" % (h["address"], h["port"]), "--var", "app=x")
        self.assertNotEqual(status, 0)
        self.assertIn(os.path.join(self.inv_dir, "no_such_key"), out + err)


if __name__ == "__main__":
    unittest.main()
