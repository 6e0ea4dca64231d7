// SPDX-License-Identifier: MIT
// Tests of src/plan/ansible_inventory.cpp: Ansible INI and YAML inventories given with -i.
#include "plan/ansible_inventory.hpp"

#include <doctest/doctest.h>

#include "support/plan_text.hpp"
#include "support/temp_folder.hpp"

using namespace deployd;
using deployd::testing::TempFolder;
using Names = std::vector<std::string>;

namespace {

constexpr const char* kInventoryPlan =
    R"({"tasks": {"t": {"on": "all", "steps": [{"run": "{{app}}"}]}}})";
// A plan that needs nothing of the inventory, for tests of its errors.
constexpr const char* kLocal = R"({"tasks": {"t": {"on": "local", "steps": [{"local": "x"}]}}})";

// The plan above with the inventory `name` holding `text`.
LoadResult load_with(const TempFolder& dir, const std::string& name, const std::string& text,
                     const char* plan = kInventoryPlan) {
  LoadOptions options = deployd::testing::test_options();
  options.inventories = {dir.write(name, text)};
  return parse_plan(plan, "plan.json", options);
}

// Errors with the scratch folder `dir` left out of file names.
std::string errors_of(const TempFolder& dir, const LoadResult& result) {
  std::string lines;
  const std::string prefix = dir.path().string() + "/";
  for (const Diagnostic& error : result.errors) {
    std::string text = error.to_string();
    for (std::size_t at; (at = text.find(prefix)) != std::string::npos;)
      text.erase(at, prefix.size());
    lines += (lines.empty() ? "" : "\n") + text;
  }
  return lines;
}

const Host& host(const Plan& plan, const std::string& name) {
  for (const Host& host : plan.hosts)
    if (host.name == name) return host;
  FAIL("no host " << name);
  return plan.hosts.front();
}

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("the format is the extension's, else the first line's") {
    using plan::inventory_format;
    using plan::InventoryFormat;
    CHECK(inventory_format("a.json", "all:") == InventoryFormat::Json);
    CHECK(inventory_format("a.INI", "") == InventoryFormat::AnsibleIni);
    CHECK(inventory_format("a.yml", "") == InventoryFormat::AnsibleYaml);
    CHECK(inventory_format("a.yaml", "") == InventoryFormat::AnsibleYaml);
    CHECK(inventory_format("hosts", "# fleet\n\n{\"hosts\": []}") == InventoryFormat::Json);
    CHECK(inventory_format("hosts", "// fleet\n{}") == InventoryFormat::Json);
    CHECK(inventory_format("hosts", "; fleet\n[web]\nweb1") == InventoryFormat::AnsibleIni);
    CHECK(inventory_format("hosts", "web1:2222 ansible_user=x") == InventoryFormat::AnsibleIni);
    CHECK(inventory_format("hosts", "web1") == InventoryFormat::AnsibleIni);
    CHECK(inventory_format("hosts", "---\nall:") == InventoryFormat::AnsibleYaml);
    CHECK(inventory_format("hosts", "# x\nall:\n  hosts:") == InventoryFormat::AnsibleYaml);
    CHECK(inventory_format("hosts", "") == InventoryFormat::Json);
  }

  TEST_CASE("an INI inventory: groups, children, ranges, vars and connection variables") {
    TempFolder dir;
    LoadResult result = load_with(dir, "hosts.ini", R"(# the fleet
lb1 ansible_host=127.0.98.1 ansible_port=2201 app=lb

[web]
web[01:03] ansible_user=deploy
web04:2204  ; only a line can start with ";"
)");
    CHECK(errors_of(dir, result) ==
          "hosts.ini:6:13: expected NAME=VALUE after host \"web04:2204\", got \";\"");

    result = load_with(dir, "hosts2.ini", R"(# the fleet
lb1 ansible_host=127.0.98.1 ansible_port=2201 app=lb

[web]
web[01:03] ansible_user=deploy
web04:2204   # a comment

[db]
db1 ansible_ssh_private_key_file=keys/db.pem "motd=hello world"

[front:children]
web
db

[front:vars]
app=front
ansible_user=ops

[web:vars]
app = "web app"  

[all:vars]
ansible_port=2222
ansible_user=admin
region=eu
)");
    INFO(errors_of(dir, result));
    REQUIRE(result.plan);
    const Plan& plan = *result.plan;
    CHECK(plan.hosts.size() == 6);
    CHECK(host(plan, "lb1").address == "127.0.98.1");
    CHECK(host(plan, "lb1").port == 2201);
    CHECK(host(plan, "lb1").user == "admin");
    CHECK(host(plan, "lb1").vars.at("app") == "lb");
    CHECK(host(plan, "web02").user == "deploy");
    CHECK(host(plan, "web02").port == 2222);
    CHECK(host(plan, "web02").address == "web02");
    CHECK(host(plan, "web04").port == 2204);
    CHECK(host(plan, "web04").user == "ops");                // from front, web's parent
    CHECK(host(plan, "web04").vars.at("app") == "web app");  // the child's vars win
    CHECK(host(plan, "db1").vars.at("app") == "front");
    CHECK(host(plan, "db1").vars.at("motd") == "hello world");
    // A relative path means one beside the inventory.
    const std::string folder = dir.path().string();
    CHECK(host(plan, "db1").identities == Names{folder + "/keys/db.pem"});
    CHECK(plan.vars.at("region") == "eu");
    CHECK(plan.groups.at("web") == Names{"web01", "web02", "web03", "web04"});
    CHECK(plan.groups.at("front") == Names{"web01", "web02", "web03", "web04", "db1"});
  }

  TEST_CASE("a YAML inventory: the same structure, nested under children") {
    TempFolder dir;
    LoadResult result = load_with(dir, "hosts.yml", R"(all:
  hosts:
    lb1:
      ansible_host: 127.0.98.1
      app: lb
  vars:
    ansible_port: 2222
    region: eu
  children:
    front:
      vars:
        app: front
        ansible_user: ops
      children:
        web:
          hosts:
            web[01:02]:
            web03:
              ansible_ssh_private_key_file: ~/.ssh/web
          vars:
            app: 'web app'
        db:
          hosts:
            db1:
              ansible_port: 2201
)");
    INFO(errors_of(dir, result));
    REQUIRE(result.plan);
    const Plan& plan = *result.plan;
    CHECK(plan.hosts.size() == 5);
    CHECK(host(plan, "lb1").address == "127.0.98.1");
    CHECK(host(plan, "lb1").port == 2222);
    CHECK(host(plan, "lb1").vars.at("app") == "lb");
    CHECK(host(plan, "web01").user == "ops");
    CHECK(host(plan, "web01").vars.at("app") == "web app");
    CHECK(host(plan, "web03").identities == Names{"/home/me/.ssh/web"});
    CHECK(host(plan, "db1").port == 2201);
    CHECK(host(plan, "db1").vars.at("app") == "front");
    CHECK(plan.groups.at("front") == Names{"web01", "web02", "web03", "db1"});
    CHECK(plan.vars.at("region") == "eu");
  }

  TEST_CASE("a host in two groups gets both groups' vars, and its own win") {
    TempFolder dir;
    LoadResult result =
        load_with(dir, "h.ini", "[a]\nx1 app=own\n[b]\nx1 other=1\n[b:vars]\napp=b\n");
    INFO(errors_of(dir, result));
    REQUIRE(result.plan);
    CHECK(result.plan->hosts.size() == 1);
    CHECK(result.plan->hosts[0].vars == Vars{{"app", "own"}, {"other", "1"}});
    CHECK(result.plan->hosts[0].groups == Names{"b", "a"});
  }

  TEST_CASE("INI errors name the file, line and column and say what is wrong") {
    TempFolder dir;
    CHECK(errors_of(dir, load_with(dir, "a.ini", "[web\nweb1\n", kLocal)) ==
          "a.ini:1:1: bad section header \"[web\" (expected [GROUP], [GROUP:vars] or "
          "[GROUP:children])");
    CHECK(errors_of(dir, load_with(dir, "b.ini", "[web:var]\nx=1\n", kLocal)) ==
          "b.ini:1:6: unknown section kind \"var\" (expected \"vars\" or \"children\") (did you "
          "mean \"vars\"?)");
    CHECK(errors_of(dir, load_with(dir, "c.ini", "[web:vars]\nno value here\n", kLocal)) ==
          "c.ini:2:1: expected NAME=VALUE in [web:vars], got \"no value here\"");
    CHECK(errors_of(dir, load_with(dir, "d.ini", "[web]\nweb[05:01]\nweb2 user=\"x\n", kLocal)) ==
          "d.ini:2:1: bad host \"web[05:01]\": bad range \"[05:01]\": the start is after the end\n"
          "d.ini:3:1: unclosed \"\\\"\" quote");
    CHECK(
        errors_of(dir, load_with(dir, "e.ini", "[web:children]\ndb extra\n", kLocal)) ==
        "e.ini:2:4: expected one group name a line in [web:children], got \"extra\" after \"db\"");
    CHECK(errors_of(dir, load_with(dir, "f.ini", "web1:22x\n", kLocal)) ==
          "f.ini:1:1: bad host \"web1:22x\": expected a port number after \":\"");
  }

  TEST_CASE("values deployd refuses are located in the INI text") {
    TempFolder dir;
    CHECK(errors_of(dir, load_with(dir, "a.ini",
                                   "web1 ansible_port=99999 bad/name=1\n[all:vars]\n"
                                   "ansible_host=x\n",
                                   kLocal)) ==
          "a.ini:3:1: \"ansible_host\" in the vars of \"all\" would give every host one address");
    CHECK(
        errors_of(dir, load_with(dir, "b.ini", "web1 ansible_port=99999 bad/name=1\n", kLocal)) ==
        "b.ini:1:19: expected an integer from 1 to 65535, got 99999\n"
        "b.ini:1:25: bad variable name \"bad/name\" (use letters, digits, \"_\", \"-\" and \".\")");
    // A group's value reaches each of its hosts, but is one error.
    CHECK(errors_of(dir, load_with(dir, "g.ini", "[web]\nweb[1:3]\n[web:vars]\nansible_port=http\n",
                                   kLocal)) ==
          "g.ini:4:14: expected an integer from 1 to 65535, got \"http\"");
    CHECK(errors_of(dir, load_with(dir, "u.ini", "web1\n[ungrouped:vars]\nx=1\n", kLocal)) ==
          "u.ini:3:1: vars of \"ungrouped\" are not supported: set them on its hosts, or in "
          "[all:vars]");
    CHECK(errors_of(dir, load_with(dir, "c.ini", "[web]\nweb1\n[db]\nweb\n", kLocal)) ==
          "c.ini:1:2: group \"web\" has the same name as a host");
  }

  TEST_CASE("a host defined twice is located in both the INI file and the JSON plan") {
    TempFolder dir;
    CHECK(
        errors_of(dir,
                  load_with(dir, "a.ini", "\n[web]\n  web1\n",
                            R"({"hosts": ["web1"], "tasks": {"t": {"steps": [{"run": "x"}]}}})")) ==
        "plan.json:1:12: /hosts/0: duplicate host \"web1\" (first defined in a.ini:3:3)");
  }

  TEST_CASE("YAML lists and mappings in vars pass through as lists and objects") {
    TempFolder dir;
    LoadResult result = load_with(
        dir, "s.yml",
        "all:\n  vars:\n    app: shop\n    sites: [shop, blog]\n"
        "  hosts:\n    web1:\n      db: {name: main, port: 5432}\n",
        R"({"tasks": {"t": {"steps": [{"run": "{{ sites | join(',') }} {{db.port}}"}]}}})");
    INFO(errors_of(dir, result));
    REQUIRE(result.plan);
    CHECK(result.plan->vars.at("sites") == Value::list({"shop", "blog"}));
    CHECK(host(*result.plan, "web1").vars.at("db") ==
          Value::object({"name", "port"}, {"main", "5432"}));
  }

  TEST_CASE("YAML errors name the file, line and column and say what is wrong") {
    TempFolder dir;
    CHECK(errors_of(dir, load_with(dir, "a.yml", "all:\n  hosts:\n    - web1\n", kLocal)) ==
          "a.yml:3:5: hosts of group \"all\": expected a mapping of names, got a list (write each "
          "name as a key: \"web1:\")");
    CHECK(errors_of(dir, load_with(dir, "b.yml", "all:\n  host:\n    web1:\n", kLocal)) ==
          "b.yml:2:3: group \"all\": unknown key \"host\" (expected \"hosts\", \"vars\" or "
          "\"children\") (did you mean \"hosts\"?)");
    CHECK(errors_of(dir, load_with(dir, "c.yml", "all:\n  hosts:\n    web1: [\n", kLocal)) ==
          "c.yml:4:1: YAML syntax error: end of sequence flow not found");
    CHECK(errors_of(dir, load_with(dir, "d.yml", "all:\n  vars:\n    app: [1, ~]\n", kLocal)) ==
          "d.yml:3:10: expected a string, number, boolean, list or object, got null");
    CHECK(errors_of(dir, load_with(dir, "e.yml", "- web1\n", kLocal)) ==
          "e.yml:1:1: expected a mapping of group names (e.g. \"all:\"), got a list");
  }

  TEST_CASE("relative paths in a JSON inventory resolve against its folder") {
    TempFolder dir;
    LoadResult result = load_with(dir, "inv.json", R"({"defaults": {"identity": "keys/id",
      "known_hosts": "kh"}, "hosts": [{"name": "a", "identity": ["/abs/id", "~/id", "rel/id"]},
      "b"], "vars": {"app": "x"}})");
    INFO(errors_of(dir, result));
    REQUIRE(result.plan);
    const std::string folder = dir.path().string();
    CHECK(host(*result.plan, "a").identities ==
          Names{"/abs/id", "/home/me/id", folder + "/rel/id"});
    CHECK(host(*result.plan, "b").identities == Names{folder + "/keys/id"});
    CHECK(host(*result.plan, "b").known_hosts == folder + "/kh");
  }
}
