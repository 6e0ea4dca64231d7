// SPDX-License-Identifier: MIT
// Tests of src/report/run_tally.cpp: what a summary learns from a run's events.
#include "report/run_tally.hpp"

#include <doctest/doctest.h>

#include "support.hpp"

namespace deployd::report {

using test::at;

TEST_SUITE("report") {
  TEST_CASE("task timing sums a host's steps and takes min, lower median and max across hosts") {
    RunTally tally;
    auto step = [&](const char* host, const char* task, int index, StepStatus status, int ms) {
      tally.add(at(0, StepEnd{host, task, index, status, std::nullopt, "", ms, ""}));
    };
    step("a", "deploy", 0, StepStatus::Ok, 100);
    step("a", "deploy", 1, StepStatus::Ok, 200);  // a: 300 ms
    step("b", "deploy", 0, StepStatus::Ok, 50);
    step("b", "deploy", 1, StepStatus::Failed, 50);  // b: 100 ms, failed
    step("c", "deploy", 0, StepStatus::TimedOut, 900);
    step("c", "deploy", 1, StepStatus::Skipped, 0);  // c: 900 ms, failed
    step("d", "deploy", 0, StepStatus::Ok, 400);     // d: 400 ms
    step("e", "deploy", 0, StepStatus::Skipped, 0);  // e: not run
    step("a", "restart", 0, StepStatus::Ok, 10);
    const std::vector<TaskTiming> timings = tally.task_timings();
    REQUIRE(timings.size() == 2);
    CHECK(timings[0].task == "deploy");
    CHECK(timings[0].ok == 2);
    CHECK(timings[0].failed == 2);
    CHECK(timings[0].skipped == 1);
    CHECK(timings[0].min_ms == 100);
    CHECK(timings[0].median_ms == 300);  // of 100, 300, 400, 900
    CHECK(timings[0].max_ms == 900);
    CHECK(timings[1].task == "restart");
    CHECK((timings[1].ok == 1 && timings[1].min_ms == 10 && timings[1].max_ms == 10));
  }

  TEST_CASE("a task passed on a host after a retried attempt or an ignored failure counts as ok") {
    RunTally tally;
    StepEnd first_try{"a", "deploy", 0, StepStatus::Failed, 1, "", 10, "exited with status 1 (attempt 1 of 2)"};
    StepEnd second_try{"a", "deploy", 0, StepStatus::Ok, 0, "", 10, ""};
    StepEnd ignored{"b", "deploy", 0, StepStatus::Failed, 1, "", 10, "exited with status 1"};
    ignored.ignored = true;
    StepEnd real{"c", "deploy", 0, StepStatus::Failed, 1, "", 10, "exited with status 1"};
    for (const StepEnd& end : {first_try, second_try, ignored, real}) tally.add(at(0, end));
    const std::vector<TaskTiming> timings = tally.task_timings();
    REQUIRE(timings.size() == 1);
    CHECK(timings[0].ok == 2);
    CHECK(timings[0].failed == 1);
  }

  TEST_CASE("failure() and always() steps that pass after a failure leave the task failed") {
    RunTally tally;
    StepEnd failed{"a", "deploy", 1, StepStatus::Failed, 4, "", 10, "exited with status 4"};
    StepEnd rescue{"a", "deploy", 2, StepStatus::Ok, 0, "", 10, ""};
    StepEnd finally{"a", "deploy", 3, StepStatus::Ok, 0, "", 10, ""};
    for (const StepEnd& end : {failed, rescue, finally}) tally.add(at(0, end));
    const std::vector<TaskTiming> timings = tally.task_timings();
    REQUIRE(timings.size() == 1);
    CHECK(timings[0].failed == 1);
    CHECK(timings[0].ok == 0);
  }

  TEST_CASE("a tally lists hosts in the order they first appear, with their end") {
    RunTally tally;
    tally.add(at(0, RunStart{"r", "p", 3, {"t"}}));
    tally.add(at(10, StepStart{"b", "t", 0, "s"}));
    tally.add(at(20, StepStart{"a", "t", 0, "s"}));
    tally.add(at(30, HostEnd{"a", HostStatus::Ok, ""}));
    tally.add(at(40, HostEnd{"c", HostStatus::Unreachable, "refused"}));
    REQUIRE(tally.hosts().size() == 3);
    CHECK(tally.hosts()[0].host == "b");
    CHECK_FALSE(tally.hosts()[0].status.has_value());
    CHECK(tally.hosts()[1].host == "a");
    CHECK(tally.hosts()[1].status == HostStatus::Ok);
    CHECK(tally.hosts()[2].error == "refused");
    CHECK(tally.start()->plan == "p");
    CHECK(tally.end() == nullptr);
  }

  TEST_CASE("without run_end, counts and duration come from the events so far") {
    RunTally tally;
    tally.add(at(0, RunStart{}));
    tally.add(at(100, HostEnd{"a", HostStatus::Ok, ""}));
    tally.add(at(250, HostEnd{"b", HostStatus::Aborted, ""}));
    CHECK(tally.counts().ok == 1);
    CHECK(tally.counts().aborted == 1);
    CHECK(tally.duration_ms() == 250);
    CHECK(tally.started() == test::base_time());

    tally.add(at(300, RunEnd{RunStatus::Aborted, 3, {5, 0, 0, 0, 7}, 999}));
    CHECK(tally.counts().ok == 5);
    CHECK(tally.counts().aborted == 7);
    CHECK(tally.duration_ms() == 999);
  }

  TEST_CASE("a failed host without an error takes its last failed step's reason") {
    RunTally tally;
    tally.add(at(0, StepEnd{"a", "deploy", 1, StepStatus::Failed, 2, "", 1400, ""}));
    tally.add(at(0, HostEnd{"a", HostStatus::Failed, ""}));
    CHECK(tally.hosts()[0].error == "deploy step 2: exited with status 2 after 1.4s");
  }

  TEST_CASE("a step failure ignored by a host that ends ok is not its reason") {
    RunTally tally;
    tally.add(at(0, StepEnd{"a", "deploy", 1, StepStatus::Failed, 2, "", 5, "boom"}));
    tally.add(at(0, HostEnd{"a", HostStatus::Ok, ""}));
    CHECK(tally.hosts()[0].error.empty());
  }

  TEST_CASE("a step's own error is its failure reason, else one counting steps from 1") {
    CHECK(step_failure_reason(StepEnd{"a", "t", 0, StepStatus::Failed, 1, "", 0, "exact"}) ==
          "exact");
    CHECK(step_failure_reason(StepEnd{"a", "t", 3, StepStatus::Failed, std::nullopt, "", 0, ""}) ==
          "t step 4: failed after 0ms");
  }
}

}  // namespace deployd::report
