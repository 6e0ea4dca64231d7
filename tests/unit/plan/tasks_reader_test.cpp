// SPDX-License-Identifier: MIT
// Tests of src/plan/tasks_reader.cpp and validate.cpp: task keys, needs, cycles and `on`.
#include <doctest/doctest.h>

#include "support/plan_text.hpp"

using namespace deployd;
using deployd::testing::errors;
using deployd::testing::plan_text;
using Names = std::vector<std::string>;

TEST_SUITE("plan") {
  TEST_CASE("tasks keep document order and their keys") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {
      "zeta": {"description": "last letter", "steps": [{"run": "x"}], "default": true},
      "alpha": {"needs": "zeta", "run_once": true, "barrier": true, "steps": [{"run": "y"}],
                "policy": {"max_failures": 0, "on_failure": "abort", "retries": 2, "retry_delay": "2s",
                           "timeout": "1m"}}}})");
    REQUIRE(plan.tasks.size() == 2);
    const Task& zeta = plan.tasks[0];
    CHECK(zeta.name == "zeta");
    CHECK(zeta.description == "last letter");
    CHECK(zeta.is_default);
    CHECK(zeta.on == Names{"all"});
    CHECK(zeta.json_pointer == "/tasks/zeta");
    const Task& alpha = plan.tasks[1];
    CHECK(alpha.needs == Names{"zeta"});
    CHECK(alpha.run_once);
    CHECK(alpha.barrier);
    CHECK(alpha.policy.max_failures->of(10) == 0);
    CHECK(alpha.policy.on_failure == OnFailure::Abort);
    CHECK(alpha.policy.retries == 2);
    CHECK(alpha.policy.retry_delay == Duration(2000));
    CHECK(alpha.policy.timeout == Duration(60'000));
    CHECK(plan.find_task("alpha") == &plan.tasks[1]);
    CHECK(plan.find_task("beta") == nullptr);
  }

  TEST_CASE("on resolves groups, hosts, patterns and all into hosts in plan order") {
    Plan plan = plan_text(R"({"hosts": ["web[01:03]", "db1", "db2"], "groups": {"db": ["db[1:2]"]},
      "tasks": {
        "default": {"steps": [{"run": "x"}]},
        "list": {"on": ["db", "web03", "web[01:02]", "db1"], "steps": [{"run": "x"}]},
        "one": {"on": "db2", "steps": [{"run": "x"}]},
        "here": {"on": "local", "steps": [{"local": "x"}]}}})");
    CHECK(plan.tasks[0].hosts == Names{"web01", "web02", "web03", "db1", "db2"});
    CHECK(plan.tasks[1].hosts == Names{"web01", "web02", "web03", "db1", "db2"});
    CHECK(plan.tasks[1].on == Names{"db", "web03", "web[01:02]", "db1"});
    CHECK(plan.tasks[2].hosts == Names{"db2"});
    CHECK(plan.tasks[3].is_local);
    CHECK(plan.tasks[3].hosts.empty());
  }

  TEST_CASE("an unknown task key, need or target is an error with a suggestion") {
    CHECK(
        errors(R"({"hosts": ["web"], "groups": {"front": ["web"]}, "tasks": {
      "pack": {"descripton": "x", "on": "local", "steps": [{"local": "x"}]},
      "deploy": {"needs": ["pakc"], "on": ["frnt"], "steps": [{"run": "x"}]}}})") ==
        "plan.json:2:16: /tasks/pack: unknown key \"descripton\" (did you mean \"description\"?)\n"
        "plan.json:3:28: /tasks/deploy/needs/0: unknown task \"pakc\" (did you mean \"pack\"?)\n"
        "plan.json:3:44: /tasks/deploy/on/0: unknown host or group \"frnt\" (did you mean "
        "\"front\"?)");
  }

  TEST_CASE("a dependency cycle is reported at the need that closes it") {
    CHECK(errors(R"({"hosts": ["a"], "tasks": {
      "migrate": {"needs": ["deploy"], "steps": [{"run": "x"}]},
      "deploy": {"needs": ["build", "migrate"], "steps": [{"run": "x"}]},
      "build": {"steps": [{"run": "x"}]},
      "self": {"needs": "self", "steps": [{"run": "x"}]}}})") ==
          "plan.json:3:37: /tasks/deploy/needs/1: dependency cycle: deploy -> migrate -> deploy\n"
          "plan.json:5:25: /tasks/self/needs: dependency cycle: self -> self");
  }

  TEST_CASE("a remote task that targets no host is an error") {
    CHECK(
        errors(R"({"groups": {"empty": []}, "hosts": [], "tasks": {
      "a": {"steps": [{"run": "x"}]},
      "b": {"on": "empty", "steps": [{"run": "x"}]}}})") ==
        "plan.json:2:12: /tasks/a: task \"a\" targets no host (define hosts, pass -i INVENTORY or "
        "-H HOSTS, or use \"on\": \"local\")\n"
        "plan.json:3:19: /tasks/b/on: task \"b\" targets no host (define hosts, pass -i INVENTORY "
        "or -H HOSTS, or use \"on\": \"local\")");
  }

  TEST_CASE("tasks need steps, and local cannot be combined") {
    CHECK(errors(R"({"hosts": ["a"], "tasks": {
      "none": {"description": "x"},
      "empty": {"steps": []},
      "mixed": {"on": ["local", "a"], "run_once": false, "steps": [{"local": "x"}]},
      "bad name": {"on": "local", "run_once": true, "steps": [{"local": "x"}]}}})") ==
          "plan.json:2:15: /tasks/none: missing required key \"steps\"\n"
          "plan.json:3:26: /tasks/empty/steps: a task needs at least one step\n"
          "plan.json:4:24: /tasks/mixed/on/0: \"local\" cannot be combined with hosts or groups\n"
          "plan.json:5:7: /tasks: bad task name \"bad name\" (use letters, digits, \".\", \"-\", "
          "\"_\" and "
          "\":\")\n"
          "plan.json:5:47: /tasks/bad name/run_once: \"run_once\" applies to remote tasks only");
  }
}
