// SPDX-License-Identifier: MIT
// Whole-output tests of the end-of-run summary (issue 14, "Summaries that say what happened"):
// events in, the exact terminal text out.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "base/duration_text.hpp"
#include "report/group_reporter.hpp"
#include "report/stream_reporter.hpp"
#include "support.hpp"

namespace deployd::report {

using test::at;
using test::MemoryFile;

namespace {

std::string host_name(int i) { return fmt::format("node{:03}", i); }

// A restart step that failed on `host`, its command resolved for the host, after `ms` (the
// engine's message, its elapsed time as base::elapsed_text writes it).
void fail_restart(Reporter& reporter, const std::string& host, int ms) {
  const std::string command = fmt::format("DIR=/srv/{0} /srv/{0}/fakesvc.sh restart", host);
  reporter.on(at(0, StepStart{host, "restart", 0, command}));
  // Four stderr lines: the summary keeps the last three; a long line comes in two pieces.
  for (const char* line : {"fakesvc: starting", "fakesvc: reading config"})
    reporter.on(at(0, Output{host, "restart", 0, OutputStream::Stderr, line}));
  reporter.on(at(0, Output{host, "restart", 0, OutputStream::Stdout, "pid 42"}));
  reporter.on(at(
      0, Output{host, "restart", 0, OutputStream::Stderr, "fakesvc: bind 0.0.0.0:8080: ", true}));
  reporter.on(at(0, Output{host, "restart", 0, OutputStream::Stderr, "address already in use"}));
  reporter.on(at(0, Output{host, "restart", 0, OutputStream::Stderr, "fakesvc: giving up"}));
  const std::string error =
      fmt::format(R"(restart step 1 (run "{}"): exited with status 1 after {})", command,
                  base::elapsed_text(std::chrono::milliseconds(ms)));
  reporter.on(at(0, StepEnd{host, "restart", 0, StepStatus::Failed, 1, "", ms, error}));
  reporter.on(at(0, HostEnd{host, HostStatus::Failed, error}));
}

void ok_restart(Reporter& reporter, const std::string& host) {
  reporter.on(at(0, StepStart{host, "restart", 0, "restart"}));
  reporter.on(at(0, StepEnd{host, "restart", 0, StepStatus::Ok, 0, "", 500, ""}));
  reporter.on(at(0, HostEnd{host, HostStatus::Ok, ""}));
}

void unreachable(Reporter& reporter, const std::string& host, int i) {
  const std::string error =
      fmt::format("connect 127.0.120.{}:2522: timed out after 10s (ssh handshake) (3 attempts)", i);
  reporter.on(at(0, StepEnd{host, "restart", 0, StepStatus::Skipped, std::nullopt, "", 0,
                            "skipped: unreachable"}));
  reporter.on(at(0, HostEnd{host, HostStatus::Unreachable, error}));
}

std::size_t line_count(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE(
      "summary: hosts failed for the same reason fold into ranges, sorted, with their last stderr "
      "lines") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7,
                                        .run_log = "runs/r",
                                        .rerun_command = "deployd --retry-failed ux.json",
                                        .quiet = true});
    reporter.on(at(0, RunStart{"r", "ux.json", 30, {"restart"}}));
    // node023 fails before node007; hosts end in no particular order.
    fail_restart(reporter, host_name(23), 640);
    for (int i = 30; i >= 17; --i)
      if (i != 23) unreachable(reporter, host_name(i), i);
    fail_restart(reporter, host_name(7), 902);
    for (int i = 1; i <= 16; ++i)
      if (i != 7) ok_restart(reporter, host_name(i));
    reporter.on(at(3900, RunEnd{RunStatus::Failed, 1, {15, 2, 13, 0, 0}, 3900}));
    reporter.finish();
    CHECK(out.text() ==
          "deployd: 30 hosts: 15 ok, 2 failed, 13 unreachable in 3.9s\n"
          "  task     ok  failed  skipped   min  median   max\n"
          "  restart  15       2       13  0.5s    0.5s  0.9s\n"
          "  node[007,023] (2 hosts) failed: restart step 1 (run \"DIR=/srv/<host> "
          "/srv/<host>/fakesvc.sh restart\"): "
          "exited with status 1 after …\n"
          "    ! fakesvc: reading config\n"
          "    ! fakesvc: bind 0.0.0.0:8080: address already in use\n"
          "    ! fakesvc: giving up\n"
          "  node[017-022,024-030] (13 hosts) unreachable: connect …: timed out after 10s (ssh "
          "handshake) (3 attempts)\n"
          "deployd: run log: runs/r\n"
          "deployd: rerun the failed hosts: deployd --retry-failed ux.json\n");
  }

  TEST_CASE("summary: one failed host shows its own resolved command and duration") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7, .quiet = true});
    reporter.on(at(0, RunStart{"r", "ux.json", 1, {"restart"}}));
    fail_restart(reporter, host_name(7), 902);
    reporter.on(at(1000, RunEnd{RunStatus::Failed, 1, {0, 1, 0, 0, 0}, 1000}));
    CHECK(out.text() ==
          "deployd: 1 host: 0 ok, 1 failed in 1.0s\n"
          "  task     ok  failed  skipped   min  median   max\n"
          "  restart   0       1        0  0.9s    0.9s  0.9s\n"
          "  node007 failed: restart step 1 (run \"DIR=/srv/node007 /srv/node007/fakesvc.sh "
          "restart\"): "
          "exited with status 1 after 0.9s\n"
          "    ! fakesvc: reading config\n"
          "    ! fakesvc: bind 0.0.0.0:8080: address already in use\n"
          "    ! fakesvc: giving up\n");
  }

  TEST_CASE("summary: at 1,000 failed hosts it stays a screen long") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7, .quiet = true});
    reporter.on(at(0, RunStart{"r", "p", 1000, {"deploy"}}));
    for (int i = 1; i <= 1000; ++i) {
      const std::string host = fmt::format("web{:04}", i);
      // Three common reasons, and every 50th host a reason of its own.
      const std::string error =
          i % 50 == 0
              ? fmt::format("deploy step 1 (run \"x\"): exited with status {} after 1.0s", i)
          : i % 3 == 0 ? "deploy step 1 (run \"x\"): exited with status 1 after 1.0s"
          : i % 3 == 1 ? "deploy step 1 (run \"x\"): exited with status 2 after 2.0s"
                       : fmt::format("connect 10.0.{}.{}:22: connection refused", i / 256, i % 256);
      const HostStatus status =
          i % 3 == 2 && i % 50 != 0 ? HostStatus::Unreachable : HostStatus::Failed;
      reporter.on(at(0, HostEnd{host, status, error}));
    }
    reporter.on(at(0, RunEnd{RunStatus::Failed, 1, {0, 674, 326, 0, 0}, 60'000}));
    const std::string text = out.text();
    INFO(text);
    // The headline, the ten biggest groups (by status), and how many more.
    CHECK(line_count(text) == 12);
    CHECK(text.find("deployd: 1000 hosts: 0 ok, 674 failed, 326 unreachable in 1m00s\n") == 0);
    CHECK(text.find(",… (327 hosts) failed: deploy step 1 (run \"x\"): exited with status 1 after "
                    "1.0s\n") != std::string::npos);
    CHECK(text.find(",… (327 hosts) failed: deploy step 1 (run \"x\"): exited with status 2 after "
                    "2.0s\n") != std::string::npos);
    CHECK(text.find(",… (326 hosts) unreachable: connect …: connection refused\n") !=
          std::string::npos);
    CHECK(text.find(
              "  web0050 failed: deploy step 1 (run \"x\"): exited with status 50 after 1.0s\n") !=
          std::string::npos);
    CHECK(text.find("  ... and 13 more hosts for 13 other reasons (in the run log)\n") !=
          std::string::npos);
    std::size_t start = 0;
    for (std::size_t end = text.find('\n'); end != std::string::npos;
         start = end + 1, end = text.find('\n', start))
      CHECK(end - start < 160);
  }

  TEST_CASE("summary: an abort says why, names the aborted hosts folded, and the counts add up") {
    MemoryFile out;
    StreamReporter reporter(out.get(),
                            {.host_width = 7,
                             .rerun_command = "deployd --retry-failed p",
                             .rerun_note = "this run had --var version=…: give them again",
                             .quiet = true});
    reporter.on(at(0, RunStart{"r", "p", 8, {"facts"}}));
    const std::string disk = R"(facts step 2 ("disk"): exited with status 1 after 0.2s)";
    for (int i = 1; i <= 8; ++i) {
      const std::string host = host_name(i);
      if (i >= 7) {  // never started: the engine reports their steps skipped
        for (int step = 0; step < 2; ++step)
          reporter.on(at(0, StepEnd{host, "facts", step, StepStatus::Skipped, std::nullopt, "", 0,
                                    "skipped: the run was aborted"}));
        reporter.on(at(0, HostEnd{host, HostStatus::Aborted, "not started: the run was aborted"}));
        continue;
      }
      reporter.on(at(0, StepStart{host, "facts", 0, "uname"}));
      reporter.on(at(0, StepEnd{host, "facts", 0, StepStatus::Ok, 0, "", 100, ""}));
      if (i == 2 || i == 4) {
        reporter.on(at(0, StepStart{host, "facts", 1, "disk"}));
        reporter.on(at(0, StepEnd{host, "facts", 1, StepStatus::Failed, 1, "", 164, disk}));
        reporter.on(at(0, HostEnd{host, HostStatus::Failed, disk}));
      } else if (i >= 5) {  // stopped between steps
        reporter.on(
            at(0, StepEnd{host, "facts", 1, StepStatus::Skipped, std::nullopt, "", 0, "skipped"}));
        reporter.on(at(0, HostEnd{host, HostStatus::Aborted,
                                  R"(stopped before facts step 2 ("disk"): the run was aborted)"}));
      } else {
        reporter.on(at(0, StepStart{host, "facts", 1, "disk"}));
        reporter.on(at(0, StepEnd{host, "facts", 1, StepStatus::Ok, 0, "", 100, ""}));
        reporter.on(at(0, HostEnd{host, HostStatus::Ok, ""}));
      }
    }
    RunEnd end{RunStatus::Aborted, 3, {2, 2, 0, 0, 4}, 4500};
    end.reason = "max_failures 1 exceeded: node002, node004 failed";
    reporter.on(at(0, end));
    CHECK(out.text() ==
          "deployd: aborted: max_failures 1 exceeded: node002, node004 failed\n"
          "deployd: 8 hosts: 2 ok, 2 failed, 4 aborted in 4.5s\n"
          "  task   ok  failed  aborted  skipped   min  median   max\n"
          "  facts   2       2        4        0  0.2s    0.2s  0.3s\n"
          "  node[002,004] (2 hosts) failed: facts step 2 (\"disk\"): exited with status 1 after "
          "0.2s\n"
          "  node[005-006] (2 hosts) aborted: stopped before facts step 2 (\"disk\"): the run was "
          "aborted\n"
          "  node[007-008] (2 hosts) aborted: not started: the run was aborted\n"
          "deployd: rerun the failed hosts: deployd --retry-failed p\n"
          "deployd: this run had --var version=…: give them again\n");
  }

  TEST_CASE("summary: an interrupt is `aborted` everywhere, and the rerun hint is printed") {
    MemoryFile out;
    StreamReporter reporter(out.get(),
                            {.host_width = 7, .rerun_command = "deployd --retry-failed p"});
    reporter.on(at(0, RunStart{"r", "p", 3, {"long"}}));
    const std::string cancelled =
        R"(long step 1 ("long sleep"): cancelled after 12.2s: the run was interrupted and the grace period (10s) ran out; its processes were stopped)";
    for (int i = 1; i <= 2; ++i) {
      const std::string host = host_name(i);
      reporter.on(at(0, StepStart{host, "long", 0, "long sleep"}));
      reporter.on(at(
          0, StepEnd{host, "long", 0, StepStatus::Aborted, std::nullopt, "", 12'200, cancelled}));
      reporter.on(at(0, HostEnd{host, HostStatus::Aborted, cancelled}));
    }
    reporter.on(at(0, StepStart{"node003", "long", 0, "long sleep"}));
    reporter.on(at(0, StepEnd{"node003", "long", 0, StepStatus::Ok, 0, "", 9'000, ""}));
    reporter.on(at(0, HostEnd{"node003", HostStatus::Ok, ""}));
    RunEnd end{RunStatus::Interrupted, 130, {1, 0, 0, 0, 2}, 15'300};
    end.reason = "interrupted by SIGINT";
    reporter.on(at(0, end));
    CHECK(out.text() ==
          "node001 ABORTED: " + cancelled +
              "\n"
              "node002 ABORTED: " +
              cancelled +
              "\n"
              "deployd: interrupted by SIGINT\n"
              "deployd: 3 hosts: 1 ok, 2 aborted in 15.3s\n"
              "  task  ok  failed  aborted  skipped   min  median   max\n"
              "  long   1       0        2        0  9.0s    9.0s  9.0s\n"
              "  node[001-002] (2 hosts) aborted: long step 1 (\"long sleep\"): cancelled after "
              "12.2s: the run was "
              "interrupted and the grace period (10s) ran out; its processes were stopped\n"
              "deployd: rerun the failed hosts: deployd --retry-failed p\n");
  }

  TEST_CASE("summary: hosts skipped because a need failed fold with their reason") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7, .rerun_command = "deployd --retry-failed p", .quiet = true});
    reporter.on(at(0, RunStart{"r", "p", 5, {"build", "deploy"}}));
    const std::string build = R"(build step 1 (local "make"): exited with status 2 after 1.0s)";
    reporter.on(at(0, StepStart{"local", "build", 0, "make"}));
    reporter.on(
        at(0, Output{"local", "build", 0, OutputStream::Stderr, "make: *** [all] Error 2"}));
    reporter.on(at(0, StepEnd{"local", "build", 0, StepStatus::Failed, 2, "", 1000, build}));
    reporter.on(at(0, HostEnd{"local", HostStatus::Failed, build}));
    for (int i = 1; i <= 5; ++i) {
      const std::string host = host_name(i);
      reporter.on(at(0, StepEnd{host, "deploy", 0, StepStatus::Skipped, std::nullopt, "", 0,
                                "skipped: a task it needs failed"}));
      reporter.on(at(0, HostEnd{host, HostStatus::Skipped, "local task \"build\" failed"}));
    }
    reporter.on(at(0, RunEnd{RunStatus::Failed, 1, {0, 0, 0, 5, 0}, 1000}));
    CHECK(out.text() ==
          "deployd: 5 hosts: 0 ok, 5 skipped in 1.0s\n"
          "  task    ok  failed  skipped   min  median   max\n"
          "  build    0       1        0  1.0s    1.0s  1.0s\n"
          "  deploy   0       0        5     -       -     -\n"
          "  local   failed: build step 1 (local \"make\"): exited with status 2 after 1.0s\n"
          "    ! make: *** [all] Error 2\n"
          "  node[001-005] (5 hosts) skipped: local task \"build\" failed\n"
          "deployd: rerun the failed hosts: deployd --retry-failed p\n");
  }
}

}  // namespace deployd::report
