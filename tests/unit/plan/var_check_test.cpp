// SPDX-License-Identifier: MIT
// Tests of src/plan/var_check.cpp and plan vars: every name must resolve before anything runs.
#include <doctest/doctest.h>

#include "plan/vars.hpp"
#include "support/plan_text.hpp"

using namespace deployd;
using deployd::testing::errors;
using deployd::testing::load_text;
using deployd::testing::plan_text;

TEST_SUITE("plan") {
  TEST_CASE("plan and host vars keep scalars as their text") {
    Plan plan = plan_text(R"({"vars": {"app": "shop", "version": 1.10, "count": 3, "debug": false},
      "hosts": [{"name": "a", "vars": {"role": "primary"}}],
      "tasks": {"t": {"steps": [{"run": "{{app}} {{version}} {{count}} {{debug}} {{role}}"}]}}})");
    CHECK(plan.vars ==
          Vars{{"app", "shop"}, {"count", "3"}, {"debug", "false"}, {"version", "1.10"}});
    plan::VarContext ctx{&plan, &plan.hosts[0], nullptr, "r"};
    CHECK(plan::interpolate(plan.tasks[0].steps[0].command, ctx).text ==
          "shop 1.10 3 false primary");
  }

  TEST_CASE("--var values become overrides and satisfy references") {
    LoadOptions options = deployd::testing::test_options();
    options.cli_vars = {{"tag", "v2"}, {"app", "cli"}};
    Plan plan = plan_text(R"({"vars": {"app": "plan"}, "hosts": ["a"],
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
    plan_text(R"({"hosts": ["a"], "tasks": {
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
    CHECK(errors(R"({"vars": {"host": "x", "run.id": "y", "bad name": 1, "list": [null]},
      "hosts": ["a"], "tasks": {"t": {"steps": [{"run": "echo {{ a b }}"}]}}})") ==
          "plan.json:1:11: /vars: \"host\" is a built-in variable and cannot be defined\n"
          "plan.json:1:24: /vars: \"run.id\" is a built-in variable and cannot be defined\n"
          "plan.json:1:39: /vars: bad variable name \"bad name\" (use letters, digits, \"_\", "
          "\"-\" and \".\")\n"
          "plan.json:1:63: /vars/list/0: expected a string, number, boolean, list or object, got "
          "null\n"
          "plan.json:2:57: /tasks/t/steps/0/run: in \"{{ a b }}\" at column 11: unexpected \"b\" "
          "after "
          "the expression (a missing operator?)");
  }

  TEST_CASE("a reserved or malformed --var name is a command-line error") {
    LoadOptions options = deployd::testing::test_options();
    options.cli_vars = {{"host", "x"}, {"a b", "y"}};
    CHECK(errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "x"}]}}})", options) ==
          "--var \"a b\": bad variable name (use letters, digits, \"_\", \"-\" and \".\")\n"
          "--var \"host\": a built-in variable cannot be set");
  }

  TEST_CASE("when: parsed at load, its errors located and pointing at the column") {
    CHECK(
        errors(R"P({"hosts": ["a"], "vars": {"mode": "full"}, "tasks": {"t": {"when": "mode = 'x'",
      "steps": [{"run": "x", "when": "sucess()"}, {"cd": "/", "when": "mode == 'full' and", "steps": [{"run": "y"}]}]}}})P") ==
        "plan.json:1:68: /tasks/t/when: when \"mode = 'x'\": column 6: unexpected \"=\" (write "
        "\"==\" to compare)\n"
        "plan.json:2:38: /tasks/t/steps/0/when: when \"sucess()\": column 1: unknown function "
        "\"sucess\" (did "
        "you mean \"success\"?) (functions: defined, contains, startswith, endswith, length, "
        "success, "
        "failure, always)\n"
        "plan.json:2:71: /tasks/t/steps/1/when: when \"mode == 'full' and\": column 19: expected a "
        "value, "
        "found the end");
  }

  TEST_CASE(
      "every name an expression reads is checked; registered names and their fields are not") {
    CHECK(
        errors(R"P({"hosts": ["a"], "vars": {"mode": "full"}, "tasks": {"t": {"steps": [
      {"run": "x", "register": "out", "when": "mod == 'full'"},
      {"run": "y", "when": "out.rc == 0 and out.stdout != '' and defined(maybe) and (other | default(1))"},
      {"run": "z", "changed_when": "rc == 0 and stdout != stderr", "failed_when": "nope"}]}}})P") ==
        "plan.json:2:47: /tasks/t/steps/0/when: undefined variable \"mod\" for host \"a\" (did you "
        "mean \"mode\"?)\n"
        "plan.json:4:83: /tasks/t/steps/2/failed_when: undefined variable \"nope\" for host \"a\"");
  }

  TEST_CASE("changed_when and failed_when belong to run and local steps") {
    CHECK(errors(R"P({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"put": "f", "to": "g", "changed_when": "false"},
      {"cd": "/", "failed_when": "false", "steps": [{"run": "x"}]}]}}})P") ==
          "plan.json:2:31: /tasks/t/steps/0: \"changed_when\" is only used with \"run\" and "
          "\"local\"\n"
          "plan.json:3:19: /tasks/t/steps/1: \"failed_when\" is only used with \"run\" and "
          "\"local\"");
  }

  TEST_CASE("values are checked where they are used: a cycle names each variable and where it is") {
    CHECK(errors(R"P({"hosts": ["a"], "vars": {"root": "{{current}}/..",
      "current": "{{root}}/current", "unused": "{{nothing}}"},
      "tasks": {"t": {"steps": [{"run": "ls {{current}}"}]}}})P") ==
          "plan.json:3:41: /tasks/t/steps/0/run: variable cycle: current -> root -> current "
          "(current: "
          "plan.json:2:7, root: plan.json:1:27) for host \"a\"");
  }

  TEST_CASE("a --var that no string of the plan uses is warned about") {
    LoadOptions options = deployd::testing::test_options();
    options.cli_vars = {{"verison", "2"}, {"app.port", "80"}, {"mode", "y"}};
    LoadResult result = load_text(R"P({"hosts": ["a"], "vars": {"version": "1", "app": {"port": 1}},
      "tasks": {"t": {"steps": [{"run": "echo {{version}} {{app.port}}", "when": "defined(mode)"}]}}})P",
                                  options);
    REQUIRE(result.plan);
    REQUIRE(result.warnings.size() == 1);
    CHECK(result.warnings[0].to_string() ==
          "--var verison: no string of the plan uses it (did you mean \"version\"?)");
    plan::VarContext ctx{&*result.plan, &result.plan->hosts[0], nullptr, "r"};
    CHECK(plan::interpolate(result.plan->tasks[0].steps[0].command, ctx).text == "echo 1 80");
  }
}
