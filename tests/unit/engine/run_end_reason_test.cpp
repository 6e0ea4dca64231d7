// SPDX-License-Identifier: MIT
// issue 14 over a FakeTransport: a run cut short says why in run_end, and step errors name the
// step as its host ran it (variables resolved).
#include <doctest/doctest.h>

#include "engine/engine.hpp"
#include "support/fake_transport.hpp"
#include "support/plan_text.hpp"
#include "support/recording_reporter.hpp"
#include "support/run_engine.hpp"

namespace deployd::engine {
namespace {

using testing::exits;
using testing::FakeTransport;
using testing::plan_text;
using testing::RecordingReporter;
using testing::run_engine;

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("an abort by max_failures names the budget and the hosts failed by then") {
    Plan plan =
        plan_text(R"({"hosts": ["a", "b", "c", "d"], "policy": {"forks": 1, "max_failures": 1},
        "tasks": {"t": {"steps": [{"run": "false"}]}}})");
    FakeTransport transport;
    transport.reply("a", "false", exits(1));
    transport.reply("b", "false", exits(1));
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.status == RunStatus::Aborted);
    CHECK(end.reason == "max_failures 1 exceeded: a, b failed");
    // Hosts that never started still have their steps reported, skipped: every task of every
    // host has its step_end, so a summary's table adds up.
    CHECK(reporter.lines("d") ==
          std::vector<std::string>{"step_end d t 0 skipped", "host_end d aborted"});
  }

  TEST_CASE("an abort by on_failure, or by a task's own budget, says so") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "policy": {"forks": 1, "on_failure": "abort"},
        "tasks": {"t": {"steps": [{"run": "false"}]}}})");
    FakeTransport transport;
    transport.reply("a", "false", exits(1));
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).reason == "on_failure abort: a failed");

    Plan own = plan_text(R"({"hosts": ["a", "b"], "policy": {"forks": 1},
        "tasks": {"smoke": {"policy": {"max_failures": "0%"}, "steps": [{"run": "false"}]}}})");
    RecordingReporter again;
    CHECK(run_engine(own, transport, again).reason ==
          "max_failures 0% of task \"smoke\" exceeded: a failed");
  }

  TEST_CASE("a run that ends on its own has no reason") {
    Plan plan =
        plan_text(R"({"hosts": ["a", "b"], "tasks": {"t": {"steps": [{"run": "false"}]}}})");
    FakeTransport transport;
    transport.reply("a", "false", exits(1));
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.status == RunStatus::Failed);
    CHECK(end.reason.empty());
  }

  TEST_CASE("a failed step's error names the step as its host ran it, variables resolved") {
    Plan plan = plan_text(
        R"({"hosts": [{"name": "a", "vars": {"dir": "/srv/a"}}], "tasks": {"t": {"steps": [
        {"run": "cd {{dir}} && make {{host}}"}, {"run": "true", "name": "restart {{host}}"}]}}})");
    FakeTransport transport;
    transport.reply("a", "cd /srv/a && make a", exits(2));
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    CHECK(reporter.step_errors("a").at(0).starts_with(
        "t step 1 (run \"cd /srv/a && make a\"): exited with status 2 after "));
  }
}

}  // namespace deployd::engine
