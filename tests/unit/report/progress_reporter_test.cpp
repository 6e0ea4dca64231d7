// SPDX-License-Identifier: MIT
// Tests of src/report/progress_reporter.cpp: events in, the status line's exact bytes out.
#include "report/progress_reporter.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "report/status_line.hpp"
#include "support.hpp"

namespace deployd::report {

using test::at;
using test::base_time;
using test::MemoryFile;

namespace {

Clock::time_point after(int ms) { return base_time() + std::chrono::milliseconds{ms}; }

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("progress: counts, wave, rate, ETA and the slowest hosts on their step") {
    MemoryFile err;
    StatusLine line(err.get());
    ProgressReporter progress(line, {.hosts = {"a", "b", "c", "d"}, .slowest = 2});
    progress.on(at(0, RunStart{"r", "p", 4, {"deploy"}, "", {2, 4}}));
    progress.on(at(0, StepStart{"a", "deploy", 0, "x"}));
    progress.on(at(0, StepStart{"b", "deploy", 0, "x"}));
    progress.on(at(500, StepEnd{"a", "deploy", 0, StepStatus::Ok, 0, "", 500, ""}));
    progress.on(at(500, StepStart{"a", "deploy", 1, "y"}));
    progress.on(at(1000, HostEnd{"c", HostStatus::Unreachable, "refused"}));
    CHECK(progress.text(after(2000)) ==
          "[0 done, 1 failed, 2 running, 1 waiting] wave 2/2, 0.5 hosts/s, ETA 6.0s,"
          " slowest: b 2.0s deploy step 1, a 1.5s deploy step 2");
    progress.on(at(2000, HostEnd{"a", HostStatus::Ok, ""}));
    CHECK(progress.text(after(2000)) ==
          "[1 done, 1 failed, 1 running, 1 waiting] wave 2/2, 1.0 hosts/s, ETA 2.0s,"
          " slowest: b 2.0s deploy step 1");
  }

  TEST_CASE(
      "progress: in 80 columns the rate goes first, then the ETA, and the slowest host stays "
      "(issue 19)") {
    MemoryFile err;
    StatusLine line(err.get());
    std::vector<std::string> hosts;
    for (int i = 1; i <= 30; ++i) hosts.push_back(fmt::format("node{:03}", i));
    ProgressReporter progress(line, {.hosts = hosts});
    progress.on(at(0, RunStart{"r", "p", 30, {"slow"}}));
    for (int i = 0; i < 30; ++i) progress.on(at(10 * i, StepStart{hosts[i], "slow", 0, "warm"}));
    for (int i = 2; i < 28; ++i) progress.on(at(1000, HostEnd{hosts[i], HostStatus::Ok, ""}));
    const std::string full = progress.text(after(2000));
    CHECK(
        full ==
        "[26 done, 0 failed, 4 running, 0 waiting], 13.0 hosts/s, ETA 0.3s, slowest: node001 2.0s "
        "slow step 1, node002 2.0s slow step 1, node029 1.7s slow step 1");
    CHECK(progress.text(after(2000), 79) ==
          "[26 done, 0 failed, 4 running, 0 waiting], slowest: node001 2.0s slow step 1");
    CHECK(progress.text(after(2000), 90) ==
          "[26 done, 0 failed, 4 running, 0 waiting], ETA 0.3s, slowest: node001 2.0s slow step 1");
    CHECK(progress.text(after(2000), 60) ==
          "[26 done, 4 running], slowest: node001 2.0s slow step 1");
    CHECK(progress.text(after(2000), 40) ==
          "[26 done, 4 running], slowest: node001 2.0s slow step 1");  // tick() cuts it
  }

  TEST_CASE(
      "progress: hosts in their connection count as connecting and are among the slowest (issue "
      "19)") {
    MemoryFile err;
    StatusLine line(err.get());
    ProgressReporter progress(line, {.hosts = {"a", "b", "c", "d"}, .slowest = 2});
    progress.on(at(0, RunStart{"r", "p", 4, {"deploy"}}));
    progress.on(at(0, StepStart{"a", "deploy", 0, "x"}));
    progress.set_connecting({{"b", 12000}, {"c", 11000}});
    CHECK(progress.text(after(1000)) ==
          "[0 done, 0 failed, 1 running, 2 connecting, 1 waiting], slowest: b 12.0s connecting, c "
          "11.0s connecting");
    progress.set_connecting({});
    CHECK(progress.text(after(1000)) ==
          "[0 done, 0 failed, 1 running, 3 waiting], slowest: a 1.0s deploy step 1");
  }

  TEST_CASE("progress: drawn only on ticks, cut to the terminal, cleared for good at the end") {
    MemoryFile err;
    StatusLine line(err.get());
    ProgressReporter progress(line, {.hosts = {"a"}});
    progress.tick(after(0), 80);
    CHECK(err.text().empty());  // nothing before the run starts
    progress.on(at(0, RunStart{"r", "p", 1, {}}));
    progress.on(at(0, StepStart{"a", "t", 0, "x"}));
    CHECK(err.text().empty());  // events alone never draw
    progress.tick(after(1000), 20);
    CHECK(err.text() == "\r[0 done, 1 running]\x1b[K");
    progress.on(at(1000, RunEnd{}));
    CHECK(err.text() == "\r[0 done, 1 running]\x1b[K\r\x1b[K");
    progress.tick(after(2000), 80);
    progress.finish();
    CHECK(err.text() == "\r[0 done, 1 running]\x1b[K\r\x1b[K");
  }

  TEST_CASE("a status line is cleared only while it is shown") {
    MemoryFile err;
    StatusLine line(err.get());
    line.clear();
    CHECK(err.text().empty());
    line.show("working");
    line.clear();
    line.clear();
    CHECK(err.text() == "\rworking\x1b[K\r\x1b[K");
  }
}

}  // namespace deployd::report
