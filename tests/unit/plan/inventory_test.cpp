// SPDX-License-Identifier: MIT
// Tests of src/plan/inventory.cpp: inventory files merged before the plan's own hosts and vars.
#include <doctest/doctest.h>

#include "support/plan_text.hpp"
#include "support/temp_folder.hpp"

using namespace deployd;
using deployd::testing::errors;
using deployd::testing::folder_of;
using deployd::testing::plan_text;
using deployd::testing::TempFolder;
using Names = std::vector<std::string>;

namespace {

// Error lines with the scratch folder's path replaced by "DIR".
std::string without_dir(std::string text, const std::string& dir) {
  for (std::size_t at; (at = text.find(dir)) != std::string::npos;)
    text.replace(at, dir.size(), "DIR");
  return text;
}

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("inventory hosts come first, groups merge, defaults and vars merge key by key") {
    TempFolder dir;
    LoadOptions options = deployd::testing::test_options();
    options.inventories = {dir.write("inv.json", R"({"version": 1, "description": "fleet",
      // comments work here too
      "defaults": {"user": "inv", "port": 2000},
      "hosts": ["web[1:2]"], "groups": {"web": ["web[1:2]"]},
      "vars": {"app": "inv", "region": "eu"}})")};
    Plan plan =
        plan_text(R"({"defaults": {"port": 2200}, "hosts": ["db"], "groups": {"dbs": ["db"]},
      "vars": {"app": "plan"}, "tasks": {"t": {"on": ["web", "dbs"], "steps": [{"run": "{{region}}"}]}}})",
                  options);
    CHECK(plan.hosts.size() == 3);
    CHECK(plan.hosts[0].name == "web1");
    CHECK(plan.hosts[2].name == "db");
    CHECK(plan.hosts[0].user == "inv");
    CHECK(plan.hosts[0].port == 2200);
    CHECK(plan.groups.at("web") == Names{"web1", "web2"});
    CHECK(plan.vars == Vars{{"app", "plan"}, {"region", "eu"}});
    CHECK(plan.tasks[0].hosts == Names{"web1", "web2", "db"});
  }

  TEST_CASE("errors inside an inventory name the inventory file and its line and column") {
    TempFolder dir;
    LoadOptions options = deployd::testing::test_options();
    std::string inv = dir.write("inv.json", R"({"hosts": ["web1", {"name": "web2", "usr": "x"}],
  "groups": {"web": ["web1"]}, "tasks": {}})");
    options.inventories = {inv};
    CHECK(without_dir(errors(R"({"hosts": ["web1"], "groups": {"web": ["web1"]},
      "tasks": {"t": {"steps": [{"run": "x"}]}}})",
                             options),
                      folder_of(inv)) ==
          "DIR/inv.json:1:37: /hosts/1: unknown key \"usr\" (did you mean \"user\"?)\n"
          "DIR/inv.json:2:32: \"tasks\" belongs in a plan, not in an inventory\n"
          "plan.json:1:12: /hosts/0: duplicate host \"web1\" (first defined in DIR/inv.json at "
          "/hosts/0)\n"
          "plan.json:1:39: /groups/web: group \"web\" is already defined in DIR/inv.json at "
          "/groups/web");
  }

  TEST_CASE("a missing inventory or one with a syntax error is a clear error") {
    TempFolder dir;
    LoadOptions options = deployd::testing::test_options();
    std::string broken = dir.write("broken.json", "{\"hosts\": [\"a\",]}");
    options.inventories = {folder_of(broken) + "/missing.json", broken};
    CHECK(without_dir(
              errors(R"({"tasks": {"t": {"on": "local", "steps": [{"local": "x"}]}}})", options),
              folder_of(broken)) ==
          "DIR/broken.json:1:16: trailing comma before ']': JSON allows none (syntax error while "
          "parsing "
          "value: unexpected ']'; expected '[', '{', or a literal)\n"
          "DIR/missing.json: cannot read inventory: no such file or directory");
  }
}
