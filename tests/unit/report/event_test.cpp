// SPDX-License-Identifier: MIT
// Tests of src/report/event.cpp: the contract's names of statuses, and StatusCounts.
#include "deployd/event.hpp"

#include <doctest/doctest.h>

#include <string>

namespace deployd {

TEST_SUITE("report") {
  TEST_CASE("statuses are named as the JSON events spell them") {
    CHECK(std::string(to_string(OutputStream::Stdout)) == "stdout");
    CHECK(std::string(to_string(OutputStream::Stderr)) == "stderr");
    CHECK(std::string(to_string(StepStatus::Ok)) == "ok");
    CHECK(std::string(to_string(StepStatus::Failed)) == "failed");
    CHECK(std::string(to_string(StepStatus::Skipped)) == "skipped");
    CHECK(std::string(to_string(StepStatus::TimedOut)) == "timed_out");
    CHECK(std::string(to_string(HostStatus::Ok)) == "ok");
    CHECK(std::string(to_string(HostStatus::Failed)) == "failed");
    CHECK(std::string(to_string(HostStatus::Unreachable)) == "unreachable");
    CHECK(std::string(to_string(HostStatus::Skipped)) == "skipped");
    CHECK(std::string(to_string(HostStatus::Aborted)) == "aborted");
    CHECK(std::string(to_string(RunStatus::Ok)) == "ok");
    CHECK(std::string(to_string(RunStatus::Failed)) == "failed");
    CHECK(std::string(to_string(RunStatus::Aborted)) == "aborted");
    CHECK(std::string(to_string(RunStatus::Interrupted)) == "interrupted");
  }

  TEST_CASE("status counts count each host status in its own field") {
    StatusCounts counts;
    for (HostStatus status :
         {HostStatus::Ok, HostStatus::Ok, HostStatus::Failed, HostStatus::Unreachable,
          HostStatus::Skipped, HostStatus::Aborted, HostStatus::Aborted, HostStatus::Aborted}) {
      counts.add(status);
    }
    CHECK(counts.ok == 2);
    CHECK(counts.failed == 1);
    CHECK(counts.unreachable == 1);
    CHECK(counts.skipped == 1);
    CHECK(counts.aborted == 3);
  }
}

}  // namespace deployd
