// SPDX-License-Identifier: MIT
// Tests of src/plan/policy_reader.cpp and Amount::of: limits, batches, failure policy.
#include <doctest/doctest.h>

#include "support/plan_text.hpp"

using namespace deployd;
using deployd::testing::errors;
using deployd::testing::plan_text;

TEST_SUITE("plan") {
  TEST_CASE("the policy has the contract's defaults") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "x"}]}}})");
    CHECK(plan.policy.forks == 256);
    CHECK(plan.policy.max_connecting == 64);
    CHECK(plan.policy.batches.empty());
    CHECK(plan.policy.max_failures.is_percent);
    CHECK(plan.policy.max_failures.value == 100);
    CHECK(plan.policy.on_failure == OnFailure::StopHost);
    CHECK(plan.policy.retries == 0);
    CHECK(plan.policy.retry_delay == Duration(1000));
    CHECK(plan.policy.timeout == std::nullopt);
  }

  TEST_CASE("every policy key is read") {
    Plan plan = plan_text(R"({"hosts": ["a"], "policy": {"forks": 10, "max_connecting": 2,
      "batches": [1, "10%", "100%"], "max_failures": "5%", "on_failure": "abort", "retries": 1,
      "retry_delay": 0.5, "timeout": "1h"}, "tasks": {"t": {"steps": [{"run": "x"}]}}})");
    const Policy& policy = plan.policy;
    CHECK(policy.forks == 10);
    CHECK(policy.max_connecting == 2);
    REQUIRE(policy.batches.size() == 3);
    CHECK(policy.batches[0].of(200) == 1);
    CHECK(policy.batches[1].of(200) == 20);
    CHECK(policy.batches[2].of(200) == 200);
    CHECK(policy.max_failures.of(200) == 10);
    CHECK(policy.on_failure == OnFailure::Abort);
    CHECK(policy.retries == 1);
    CHECK(policy.retry_delay == Duration(500));
    CHECK(policy.timeout == Duration(3'600'000));
  }

  TEST_CASE("percentages round up and never make a nonzero share zero") {
    CHECK(Amount{10, true}.of(5) == 1);
    CHECK(Amount{10, true}.of(11) == 2);
    CHECK(Amount{50, true}.of(3) == 2);
    CHECK(Amount{100, true}.of(7) == 7);
    CHECK(Amount{0, true}.of(7) == 0);
    CHECK(Amount{5, true}.of(0) == 0);
    CHECK(Amount{3, false}.of(100) == 3);
  }

  TEST_CASE("bad policy values are errors") {
    CHECK(
        errors(R"({"hosts": ["a"], "policy": {"fork": 1, "forks": 0, "batches": [0, "150%", "5"],
      "max_failures": -1, "on_failure": "stop", "retry_delay": "soon"},
      "tasks": {"t": {"policy": {"forks": 2}, "steps": [{"run": "x"}]}}})") ==
        "plan.json:1:29: /policy: unknown key \"fork\" (did you mean \"forks\"?)\n"
        "plan.json:1:49: /policy/forks: expected an integer of at least 1, got 0\n"
        "plan.json:1:64: /policy/batches/0: bad amount 0 (expected a count of at least 1, or a "
        "percentage "
        "like \"10%\")\n"
        "plan.json:2:23: /policy/max_failures: bad amount -1 (expected a count of at least 0, or a "
        "percentage like \"10%\")\n"
        "plan.json:2:41: /policy/on_failure: expected \"stop-host\" or \"abort\", got \"stop\"\n"
        "plan.json:2:64: /policy/retry_delay: bad duration \"soon\" (expected seconds, or a number "
        "and a "
        "unit: \"250ms\", \"30s\", \"5m\", \"1h\")\n"
        "plan.json:3:34: /tasks/t/policy: unknown key \"forks\"");
  }

  TEST_CASE("a task's serial and batches are read, and refused where there is one host") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {
      "restart": {"policy": {"serial": 1, "batches": [1, "50%"]}, "steps": [{"run": "x"}]},
      "verify": {"policy": {"serial": "25%"}, "steps": [{"run": "x"}]}}})");
    const TaskPolicy& restart = plan.tasks[0].policy;
    REQUIRE(restart.serial);
    CHECK(restart.serial->of(10) == 1);
    REQUIRE(restart.batches.size() == 2);
    CHECK(restart.batches[1].of(10) == 5);
    CHECK(plan.tasks[1].policy.serial->of(10) == 3);
    CHECK(plan.tasks[1].policy.batches.empty());
    CHECK(
        errors(R"({"hosts": ["a"], "tasks": {
      "t": {"policy": {"serial": 0, "batches": []}, "steps": [{"run": "x"}]},
      "l": {"on": "local", "policy": {"serial": 2}, "steps": [{"local": "x"}]}}})") ==
        "plan.json:2:34: /tasks/t/policy/serial: bad amount 0 (expected a count of at least 1, or "
        "a percentage like \"10%\")\n"
        "plan.json:2:48: /tasks/t/policy/batches: expected a non-empty list of counts and "
        "percentages, got a list\n"
        "plan.json:3:38: /tasks/l/policy: \"serial\" and \"batches\" roll a task over its hosts: a "
        "local or run_once task has one");
  }
}
