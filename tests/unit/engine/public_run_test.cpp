// SPDX-License-Identifier: MIT
// Tests of src/engine/public_run.cpp: deployd::run, the run as a library call. Local tasks only:
// they need no SSH (the install test and the integration suites run remote steps).
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <stop_token>
#include <string>
#include <vector>

#include "deployd/run.hpp"
#include "support/plan_text.hpp"
#include "support/recording_reporter.hpp"

namespace deployd {
namespace {

using testing::plan_text;
using testing::RecordingReporter;
using Lines = std::vector<std::string>;

// Counts finish() calls: run() must finish the reporter once, after the last event.
class FinishCounter final : public Reporter {
 public:
  explicit FinishCounter(Reporter& next) : next_(next) {}
  void on(const Event& event) override {
    CHECK(finishes == 0);
    next_.on(event);
  }
  void finish() override { ++finishes; }
  int finishes = 0;

 private:
  Reporter& next_;
};

const char* kRunPlan = R"({"hosts": ["a"], "tasks": {
    "build": {"on": "local", "steps": [{"local": "echo built"}]},
    "check": {"on": "local", "needs": ["build"], "steps": [{"local": "exit 3"}]}}})";

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE(
      "deployd::run runs the named tasks with their needs, reports every event, finishes once") {
    Plan plan = plan_text(kRunPlan);
    RecordingReporter recording;
    FinishCounter reporter(recording);
    RunOptions options;
    options.tasks = {"build"};
    options.run_id = "r1";
    RunResult result = run(plan, options, reporter);
    CHECK(result.errors.empty());
    CHECK(result.exit_code() == 0);
    INFO(fmt::format("{}", recording.lines()));
    CHECK(recording.lines("local") == Lines{"step_start local build 0", "stdout local 0: built",
                                            "step_end local build 0 ok", "host_end local ok"});
    CHECK(reporter.finishes == 1);
    REQUIRE(!recording.events.empty());
    CHECK(std::get<RunStart>(recording.events.front().body).run_id == "r1");

    RecordingReporter failing;
    options.tasks = {"check"};  // needs build: both run, and check's exit 3 fails the run
    result = run(plan, options, failing);
    CHECK(result.exit_code() == result.end.exit_code);
    CHECK(result.end.status == RunStatus::Failed);
    CHECK(failing.lines("local").size() == 6);
  }

  TEST_CASE("deployd::run: an unknown task runs nothing, reports nothing, and says why") {
    Plan plan = plan_text(kRunPlan);
    RecordingReporter reporter;
    RunOptions options;
    options.tasks = {"deploy"};
    RunResult result = run(plan, options, reporter);
    REQUIRE(result.errors.size() == 1);
    CHECK(result.errors[0].message.find("unknown task \"deploy\"") != std::string::npos);
    CHECK(result.exit_code() == 2);
    CHECK(reporter.events.empty());
  }

  TEST_CASE(
      "deployd::run: a stop requested before the run starts nothing; the run ends interrupted") {
    Plan plan = plan_text(kRunPlan);
    RecordingReporter reporter;
    std::stop_source stop;
    stop.request_stop();
    RunResult result = run(plan, RunOptions{.tasks = {"build"}}, reporter, stop.get_token());
    CHECK(result.exit_code() == 143);
    CHECK(result.end.status == RunStatus::Interrupted);
    for (const std::string& line : reporter.lines("local"))
      CHECK(line.find("step_start") == std::string::npos);
  }
}

}  // namespace deployd
