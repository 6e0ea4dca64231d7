// SPDX-License-Identifier: MIT
// Tests of src/plan/var_check.cpp and plan vars: every name must resolve before anything runs.
#include <doctest/doctest.h>

#include "plan/vars.hpp"
#include "plan_text.hpp"

using namespace deployd;
using deployd::test::errors;
using deployd::test::valid_plan;

TEST_SUITE("plan") {
  TEST_CASE("plan and host vars keep scalars as their text") {
    Plan plan = valid_plan(R"({"vars": {"app": "shop", "version": 1.10, "count": 3, "debug": false},
      "hosts": [{"name": "a", "vars": {"role": "primary"}}],
      "tasks": {"t": {"steps": [{"run": "{{app}} {{version}} {{count}} {{debug}} {{role}}"}]}}})");
    CHECK(plan.vars ==
          VarMap{{"app", "shop"}, {"count", "3"}, {"debug", "false"}, {"version", "1.10"}});
    plan::VarContext ctx{&plan, &plan.hosts[0], nullptr, "r"};
    CHECK(plan::interpolate(plan.tasks[0].steps[0].command, ctx).text ==
          "shop 1.10 3 false primary");
  }

  TEST_CASE("--var values become overrides and satisfy references") {
    LoadOptions options = deployd::test::test_options();
    options.cli_vars = {{"tag", "v2"}, {"app", "cli"}};
    Plan plan = valid_plan(R"({"vars": {"app": "plan"}, "hosts": ["a"],
                              "tasks": {"t": {"steps": [{"run": "deploy {{app}} {{ tag }}"}]}}})",
                           options);
    CHECK(plan.overrides == options.cli_vars);
    plan::VarContext ctx{&plan, &plan.hosts[0], nullptr, "r"};
    CHECK(plan::interpolate(plan.tasks[0].steps[0].command, ctx).text == "deploy cli v2");
  }

  TEST_CASE("an unresolved variable names the path, the variable and the host") {
    CHECK(
        errors(
            R"({"vars": {"app": "x"}, "hosts": ["web[01:03]", {"name": "db", "vars": {"role": "r"}}],
      "tasks": {"t": {"steps": [{"run": "echo {{ap}}"}, {"cd": "/{{role}}", "steps": [{"run": "x"}]}]}}})") ==
        "plan.json:2:41: /tasks/t/steps/0/run: undefined variable \"ap\" for host \"web01\" and 3 "
        "more hosts "
        "(did you mean \"app\"?)\n"
        "plan.json:2:64: /tasks/t/steps/1/cd: undefined variable \"role\" for host \"web01\" and 2 "
        "more "
        "hosts");
  }

  TEST_CASE("every string of a step is checked, including env, to, name and sudo") {
    CHECK(errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"put": "{{src}}", "to": "{{dst}}", "name": "{{label}}", "sudo": false, "env": {"E": "{{e}}"}},
      {"run": "x", "sudo": "{{who}}"}]}}})") ==
          "plan.json:2:15: /tasks/t/steps/0/put: undefined variable \"src\" for host \"a\"\n"
          "plan.json:2:32: /tasks/t/steps/0/to: undefined variable \"dst\" for host \"a\"\n"
          "plan.json:2:51: /tasks/t/steps/0/name: undefined variable \"label\" for host \"a\"\n"
          "plan.json:2:92: /tasks/t/steps/0/env/E: undefined variable \"e\" for host \"a\"\n"
          "plan.json:3:28: /tasks/t/steps/1/sudo: undefined variable \"who\" for host \"a\"");
  }

  TEST_CASE("a name registered by an earlier step or a needed task is left to run time") {
    valid_plan(R"({"hosts": ["a"], "tasks": {
      "pack": {"on": "local", "steps": [{"local": "echo v1", "register": "dist"}]},
      "build": {"needs": ["pack"], "steps": [{"run": "echo {{dist}}"}]},
      "deploy": {"needs": ["build"], "steps": [
        {"run": "echo {{dist}}"}, {"run": "hostname", "register": "name"}, {"run": "echo {{name}}"}]}}})");
    CHECK(errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"run": "echo {{later}}"}, {"run": "x", "register": "later"}]}}})") ==
          "plan.json:2:15: /tasks/t/steps/0/run: undefined variable \"later\" for host \"a\"");
  }

  TEST_CASE("local tasks see plan vars and run.id but no host") {
    CHECK(errors(R"({"vars": {"v": "1"}, "tasks": {"t": {"on": "local", "steps": [
      {"local": "{{v}} {{run.id}}"}, {"local": "{{host}}"}, {"local": "{{w}}"}]}}})") ==
          "plan.json:2:48: /tasks/t/steps/1/local: undefined variable \"host\" (a local task has "
          "no host)\n"
          "plan.json:2:71: /tasks/t/steps/2/local: undefined variable \"w\" (did you mean \"v\"?)");
  }

  TEST_CASE("built-in names cannot be defined and malformed references are errors") {
    CHECK(errors(R"({"vars": {"host": "x", "run.id": "y", "bad name": 1, "list": {"a": 1}},
      "hosts": ["a"], "tasks": {"t": {"steps": [{"run": "echo {{ a b }}"}]}}})") ==
          "plan.json:1:11: /vars: \"host\" is a built-in variable and cannot be defined\n"
          "plan.json:1:24: /vars: \"run.id\" is a built-in variable and cannot be defined\n"
          "plan.json:1:39: /vars: bad variable name \"bad name\" (use letters, digits, \"_\", "
          "\"-\" and \".\")\n"
          "plan.json:1:62: /vars/list: expected a string, number, boolean or list, got an object\n"
          "plan.json:2:57: /tasks/t/steps/0/run: bad variable reference \"{{ a b }}\" (write \\{{ "
          "for a literal "
          "{{)");
  }

  TEST_CASE("a reserved or malformed --var name is a command-line error") {
    LoadOptions options = deployd::test::test_options();
    options.cli_vars = {{"host", "x"}, {"a b", "y"}};
    CHECK(errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "x"}]}}})", options) ==
          "--var \"a b\": bad variable name (use letters, digits, \"_\", \"-\" and \".\")\n"
          "--var \"host\": a built-in variable cannot be set");
  }
}
