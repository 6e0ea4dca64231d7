// SPDX-License-Identifier: MIT
// Tests of src/plan/groups.cpp and group_resolver.cpp: members, groups of groups, vars, errors.
#include <doctest/doctest.h>

#include "support/plan_text.hpp"

using namespace deployd;
using deployd::testing::errors;
using deployd::testing::plan_text;
using Names = std::vector<std::string>;

TEST_SUITE("plan") {
  TEST_CASE("groups hold hosts, patterns and other groups, in plan order without repeats") {
    Plan plan = plan_text(R"({
      "hosts": ["web[01:04]", "db1", {"name": "db2", "groups": ["db", "backup"]}],
      "groups": {
        "front": ["web03", "web[01:02]", "web01"],
        "db": ["db1"],
        "everything": ["db", "front", "web04"]
      },
      "tasks": {"t": {"steps": [{"run": "x"}]}}})");
    CHECK(plan.groups.at("front") == Names{"web01", "web02", "web03"});
    CHECK(plan.groups.at("db") == Names{"db1", "db2"});
    CHECK(plan.groups.at("backup") == Names{"db2"});
    CHECK(plan.groups.at("everything") == Names{"web01", "web02", "web03", "web04", "db1", "db2"});
    CHECK(plan.groups.at("all") == Names{"web01", "web02", "web03", "web04", "db1", "db2"});
    CHECK(plan.find_host("db2")->groups == Names{"db", "everything", "backup"});
    CHECK(plan.find_host("web04")->groups == Names{"everything"});
  }

  TEST_CASE("group vars sit beneath host vars, the first group in plan order winning") {
    Plan plan = plan_text(R"({
      "hosts": [{"name": "a", "vars": {"role": "own"}}, "b"],
      "groups": {"first": {"hosts": ["a", "b"], "vars": {"role": "first", "x": 1}},
                 "second": {"hosts": ["b"], "vars": {"role": "second", "y": true}}},
      "tasks": {"t": {"steps": [{"run": "x"}]}}})");
    CHECK(plan.find_host("a")->vars == Vars{{"role", "own"}, {"x", "1"}});
    CHECK(plan.find_host("b")->vars == Vars{{"role", "first"}, {"x", "1"}, {"y", "true"}});
  }

  TEST_CASE("an unknown group member is an error with a suggestion") {
    CHECK(
        errors(R"({"hosts": ["web01", "db1"], "groups": {"web": ["wbe01", "web[01:02]"]},
                     "tasks": {"t": {"steps": [{"run": "x"}]}}})") ==
        "plan.json:1:48: /groups/web/0: unknown host or group \"wbe01\" (did you mean \"web01\"?)\n"
        "plan.json:1:57: /groups/web/1: unknown host \"web02\" (from \"web[01:02]\")");
  }

  TEST_CASE("a group cycle is an error that names the cycle") {
    CHECK(errors(R"({"hosts": ["h"], "groups": {"a": ["b"], "b": ["h", "c"], "c": ["a"]},
                     "tasks": {"t": {"steps": [{"run": "x"}]}}})") ==
          "plan.json:1:64: /groups/c/0: group cycle: a -> b -> c -> a");
  }

  TEST_CASE("a group may not share a name with a host, nor be called all") {
    CHECK(errors(R"({"hosts": ["web", {"name": "db", "groups": ["web"]}],
                     "groups": {"web": ["db"], "all": ["db"]},
                     "tasks": {"t": {"steps": [{"run": "x"}]}}})") ==
          "plan.json:1:45: /hosts/1/groups/0: cannot join group \"web\": it is the name of a host\n"
          "plan.json:2:40: /groups/web: group \"web\" has the same name as a host\n"
          "plan.json:2:48: /groups: \"all\" is a built-in group: it holds every host");
  }
}
