// SPDX-License-Identifier: MIT
// Tests of src/report/stream_reporter.cpp: events in, exact terminal bytes out.
#include "report/stream_reporter.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "support.hpp"

namespace deployd::report {

using test::at;
using test::MemoryFile;

namespace {

const std::string kStep2Error = R"(deploy step 2 (run "false"): exited with status 1 after 0.1s)";
const std::string kRefused = "connect 127.0.10.7:2222: connection refused";

Output out_line(const std::string& host, const std::string& line) {
  return Output{host, "deploy", 0, OutputStream::Stdout, line};
}

Output err_line(const std::string& host, const std::string& line) {
  return Output{host, "deploy", 0, OutputStream::Stderr, line};
}

StepEnd failed_step(const std::string& host, std::string error) {
  return StepEnd{host, "deploy", 2, StepStatus::Failed, 1, "", 100, std::move(error)};
}

// The run of the summary's example: node001..node020, node003 fails, node007 is unreachable.
void play_twenty_hosts(Reporter& reporter) {
  reporter.on(at(0, RunStart{"r", "plan.json", 20, {"deploy"}}));
  for (int i = 1; i <= 20; ++i) {
    const std::string host = fmt::format("node{:03}", i);
    if (i == 3) {
      reporter.on(at(50, failed_step(host, kStep2Error)));
      reporter.on(at(50, HostEnd{host, HostStatus::Failed, kStep2Error}));
    } else if (i == 7) {
      reporter.on(at(60, HostEnd{host, HostStatus::Unreachable, kRefused}));
    } else {
      reporter.on(at(100, HostEnd{host, HostStatus::Ok, ""}));
    }
  }
  reporter.on(at(3200, RunEnd{RunStatus::Failed, 1, {18, 1, 1, 0, 0}, 3200}));
  reporter.finish();
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("output lines are prefixed by the host padded to the widest host name") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7});
    reporter.on(at(0, out_line("node001", "hello")));
    reporter.on(at(0, out_line("db1", "world")));
    reporter.on(at(0, out_line("db1", "")));
    CHECK(out.text() ==
          "node001 | hello\n"
          "db1     | world\n"
          "db1     | \n");
  }

  TEST_CASE("stderr lines are marked with an exclamation mark") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7});
    reporter.on(at(0, err_line("node001", "oops")));
    CHECK(out.text() == "node001 ! oops\n");
  }

  TEST_CASE(
      "with a messages file, stdout carries the hosts' stdout only (pdsh: 2> separates them)") {
    MemoryFile out;
    MemoryFile messages;
    StreamReporter reporter(out.get(), {.host_width = 7, .messages = messages.get()});
    reporter.on(at(0, RunStart{"r", "plan.json", 2, {"deploy"}}));
    reporter.on(at(0, out_line("node001", "hello")));
    reporter.on(at(0, err_line("node001", "oops")));
    reporter.on(at(50, failed_step("node003", kStep2Error)));
    reporter.on(at(50, HostEnd{"node003", HostStatus::Failed, kStep2Error}));
    reporter.on(at(60, HostEnd{"node001", HostStatus::Ok, ""}));
    reporter.on(at(100, RunEnd{RunStatus::Failed, 1, {1, 1, 0, 0, 0}, 100}));
    reporter.finish();
    CHECK(out.text() == "node001 | hello\n");
    CHECK(messages.text().starts_with("node001 ! oops\nnode003 FAILED: " + kStep2Error + "\n"));
    CHECK(messages.text().find("deployd: 2 hosts: 1 ok, 1 failed in ") != std::string::npos);
  }

  TEST_CASE("remote control characters are shown, never sent to the terminal") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 1});
    reporter.on(at(0, out_line("a", "\x1b[2J\x1b]0;title\x07 50%\b\xff\tend")));
    CHECK(out.text() == "a | \\x1b[2J\\x1b]0;title\\x07 50%\\x08\\xff\tend\n");
  }

  TEST_CASE("a line redrawn with carriage returns shows its last segment") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 1});
    reporter.on(at(0, out_line("a", "10%\r50%\r100% \x1b done\r")));
    CHECK(out.text() == "a | 100% \\x1b done\n");
  }

  TEST_CASE("the pieces of a line too long for one event are marked as its continuation") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 1});
    Output first = out_line("a", "aaaa");
    first.is_partial = true;
    Output middle = first;
    Output last = out_line("a", "cc");
    reporter.on(at(0, first));
    reporter.on(at(0, err_line("a", "meanwhile")));
    reporter.on(at(0, middle));
    reporter.on(at(0, last));
    reporter.on(at(0, out_line("a", "next")));
    CHECK(out.text() == "a | aaaa\na ! meanwhile\na + aaaa\na + cc\na | next\n");
  }

  TEST_CASE("quiet prints the summary only") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7, .quiet = true});
    reporter.on(at(0, RunStart{"r", "plan.json", 1, {"deploy"}}));
    reporter.on(at(0, out_line("node001", "hello")));
    reporter.on(at(0, failed_step("node001", kStep2Error)));
    reporter.on(at(0, HostEnd{"node001", HostStatus::Failed, kStep2Error}));
    reporter.on(at(1000, RunEnd{RunStatus::Failed, 1, {0, 1, 0, 0, 0}, 1000}));
    reporter.finish();
    CHECK(out.text() == "deployd: 1 host: 0 ok, 1 failed in 1.0s\n"
                        "  task    ok  failed  skipped   min  median   max\n"
                        "  deploy   0       1        0  0.1s    0.1s  0.1s\n"
                        "  node001 failed: " + kStep2Error + "\n");
  }

  TEST_CASE("colour paints the host in its own colour and the stderr marker red") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7, .color = true});
    reporter.on(at(0, out_line("node001", "hello")));
    reporter.on(at(0, err_line("db1", "oops")));
    CHECK(out.text() ==
          "\x1b[34mnode001\x1b[0m | hello\n"
          "\x1b[36mdb1\x1b[0m     \x1b[31m!\x1b[0m oops\n");
  }

  TEST_CASE("a failed step prints a FAILED line when it happens") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7});
    reporter.on(at(0, failed_step("node003", kStep2Error)));
    CHECK(out.text() == "node003 FAILED: " + kStep2Error + "\n");

    SUBCASE("its host_end adds nothing") {
      reporter.on(at(0, HostEnd{"node003", HostStatus::Failed, kStep2Error}));
      CHECK(out.text() == "node003 FAILED: " + kStep2Error + "\n");
    }
  }

  TEST_CASE("a failed attempt that will be retried reads as one, not as a FAILED line") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7});
    const std::string error =
        R"(deploy step 1 (run "sleep 30"): attempt 1 of 2 failed (timed out after 2.0s); retrying in 1s)";
    StepEnd attempt{"node001", "deploy", 0, StepStatus::TimedOut, std::nullopt, "", 2000, error};
    attempt.will_retry = true;
    reporter.on(at(0, attempt));
    CHECK(out.text() == "node001 " + error + "\n");
  }

  TEST_CASE("an ignored failure prints failed (ignored), and a later host failure still prints") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7});
    StepEnd ignored = failed_step("node003", kStep2Error);
    ignored.ignored = true;
    reporter.on(at(0, ignored));
    reporter.on(at(0, HostEnd{"node003", HostStatus::Failed, "node003: connection lost"}));
    CHECK(out.text() == "node003 failed (ignored): " + kStep2Error + "\n" +
                            "node003 FAILED: connection lost\n");
  }

  TEST_CASE("the summary names the steps whose failures were ignored, hosts folded") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7});
    reporter.on(at(0, RunStart{"r", "plan.json", 3, {"deploy"}}));
    for (const char* host : {"node001", "node002", "node003"}) {
      StepEnd end = failed_step(host, "");
      end.ignored = std::string(host) != "node003";
      end.status = end.ignored ? StepStatus::Failed : StepStatus::Ok;
      end.exit_status = end.ignored ? 1 : 0;
      reporter.on(at(100, end));
      reporter.on(at(100, HostEnd{host, HostStatus::Ok, ""}));
    }
    reporter.on(at(200, RunEnd{RunStatus::Ok, 0, {3, 0, 0, 0, 0}, 200}));
    reporter.finish();
    CHECK(out.text() ==
          "node001 failed (ignored): deploy step 3: exited with status 1 after 0.1s\n"
          "node002 failed (ignored): deploy step 3: exited with status 1 after 0.1s\n"
          "deployd: 3 hosts: 3 ok in 0.2s\n"
          "  task    ok  failed  skipped   min  median   max\n"
          "  deploy   3       0        0  0.1s    0.1s  0.1s\n"
          "  deploy step 3: failed (ignored) on node[001-002] (2 hosts)\n");
  }

  TEST_CASE("a failed step without an error is described from its exit") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 2});
    reporter.on(at(0, failed_step("n1", "")));
    reporter.on(
        at(0, StepEnd{"n2", "deploy", 4, StepStatus::TimedOut, std::nullopt, "", 30000, ""}));
    reporter.on(at(0, StepEnd{"n3", "deploy", 0, StepStatus::Failed, std::nullopt, "KILL", 5, ""}));
    reporter.on(at(0, StepEnd{"n4", "deploy", 1, StepStatus::Ok, 0, "", 5, ""}));
    reporter.on(at(0, StepEnd{"n4", "deploy", 2, StepStatus::Skipped, std::nullopt, "", 0, ""}));
    CHECK(out.text() ==
          "n1 FAILED: deploy step 3: exited with status 1 after 0.1s\n"
          "n2 FAILED: deploy step 5: timed out after 30.0s\n"
          "n3 FAILED: deploy step 1: killed by signal KILL after 5ms\n");
  }

  TEST_CASE("a host failing outside a step or unreachable prints its reason") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7});
    reporter.on(
        at(0, HostEnd{"node005", HostStatus::Failed, "node005: variable \"dist\" is not set"}));
    reporter.on(at(0, HostEnd{"node007", HostStatus::Unreachable, kRefused}));
    reporter.on(at(0, HostEnd{"node008", HostStatus::Unreachable, ""}));
    reporter.on(at(0, HostEnd{"node009", HostStatus::Aborted, ""}));
    reporter.on(at(0, HostEnd{"node010", HostStatus::Skipped, ""}));
    reporter.on(at(0, HostEnd{"node011", HostStatus::Ok, ""}));
    CHECK(out.text() ==
          "node005 FAILED: variable \"dist\" is not set\n"
          "node007 UNREACHABLE: " +
              kRefused +
              "\n"
              "node008 UNREACHABLE\n");
  }

  TEST_CASE("failure lines are red when colour is on") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7, .color = true});
    reporter.on(at(0, failed_step("node003", kStep2Error)));
    reporter.on(at(0, HostEnd{"node007", HostStatus::Unreachable, kRefused}));
    CHECK(out.text() == "\x1b[32mnode003\x1b[0m \x1b[31mFAILED: " + kStep2Error + "\x1b[0m\n" +
                            "\x1b[36mnode007\x1b[0m \x1b[31mUNREACHABLE: " + kRefused +
                            "\x1b[0m\n");
  }

  TEST_CASE("step starts are printed only when asked for") {
    MemoryFile out;
    StreamReporter quiet(out.get(), {.host_width = 3});
    quiet.on(at(0, StepStart{"db1", "deploy", 1, "unpack"}));
    CHECK(out.text().empty());
    StreamReporter verbose(out.get(), {.host_width = 3, .show_step_starts = true});
    verbose.on(at(0, StepStart{"db1", "deploy", 1, "unpack"}));
    verbose.on(at(0, StepStart{"db1", "deploy", 2, ""}));
    CHECK(out.text() == "db1 > deploy step 2: unpack\ndb1 > deploy step 3\n");
  }

  TEST_CASE("the summary counts hosts and lists each failed and unreachable one") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7});
    play_twenty_hosts(reporter);
    CHECK(out.text() ==
          "node003 FAILED: " + kStep2Error + "\n" + "node007 UNREACHABLE: " + kRefused + "\n" +
              "deployd: 20 hosts: 18 ok, 1 failed, 1 unreachable in 3.2s\n" +
              "  task    ok  failed  skipped   min  median   max\n"
              "  deploy   0       1        0  0.1s    0.1s  0.1s\n"
              "  node003 failed: " + kStep2Error + "\n" + "  node007 unreachable: " + kRefused + "\n");
  }

  TEST_CASE("the summary is coloured green for an ok run and red otherwise") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 7, .color = true});
    reporter.on(at(0, RunStart{"r", "p", 1, {}}));
    reporter.on(at(0, HostEnd{"node003", HostStatus::Failed, "boom"}));
    reporter.on(at(0, RunEnd{RunStatus::Failed, 1, {0, 1, 0, 0, 0}, 100}));
    CHECK(out.text() ==
          "\x1b[32mnode003\x1b[0m \x1b[31mFAILED: boom\x1b[0m\n"
          "deployd: \x1b[31m1 host: 0 ok, 1 failed in 0.1s\x1b[0m\n"
          "  \x1b[32mnode003\x1b[0m \x1b[31mfailed\x1b[0m: boom\n");

    MemoryFile ok_out;
    StreamReporter ok(ok_out.get(), {.host_width = 1, .color = true});
    ok.on(at(0, RunStart{"r", "p", 1, {}}));
    ok.on(at(0, RunEnd{RunStatus::Ok, 0, {1, 0, 0, 0, 0}, 40}));
    CHECK(ok_out.text() == "deployd: \x1b[32m1 host: 1 ok in 40ms\x1b[0m\n");
  }

  TEST_CASE("the summary lists at most the cap of lines of hosts, then how many more") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 2, .max_listed_groups = 2});
    reporter.on(at(0, RunStart{"r", "p", 6, {}}));
    for (int i = 1; i <= 5; ++i) {
      reporter.on(at(0, HostEnd{fmt::format("n{}", i), HostStatus::Unreachable, i < 3 ? "refused" : fmt::format("reset {}", i)}));
    }
    reporter.on(at(0, HostEnd{"n6", HostStatus::Ok, ""}));
    reporter.on(at(0, RunEnd{RunStatus::Failed, 1, {1, 0, 5, 0, 0}, 61'000}));
    const std::string text = out.text();
    CHECK(text.substr(text.find("deployd:")) ==
          "deployd: 6 hosts: 1 ok, 5 unreachable in 1m01s\n"
          "  n[1-2] (2 hosts) unreachable: refused\n"
          "  n3 unreachable: reset 3\n"
          "  ... and 2 more hosts for 2 other reasons (in the run log)\n");
  }

  TEST_CASE("an aborted run names its status and counts aborted and skipped hosts") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 1,
                                        .run_log = ".deployd/runs/r",
                                        .rerun_command = "deployd --retry-failed p"});
    reporter.on(at(0, RunStart{"r", "p", 4, {}}));
    reporter.on(
        at(0, HostEnd{"a", HostStatus::Failed, "a step 0: exited with status 2 after 1.0s"}));
    reporter.on(at(0, RunEnd{RunStatus::Aborted, 3, {1, 1, 0, 1, 1}, 1500}));
    CHECK(out.text() ==
          "a FAILED: a step 0: exited with status 2 after 1.0s\n"
          "deployd: aborted: 4 hosts: 1 ok, 1 failed, 1 skipped, 1 aborted in 1.5s\n"
          "  a failed: a step 0: exited with status 2 after 1.0s\n"
          "deployd: run log: .deployd/runs/r\n"
          "deployd: rerun the failed hosts: deployd --retry-failed p\n");
  }

  TEST_CASE("without the run's summary.json, the rerun line names the hosts instead (issue 16)") {
    MemoryFile out;
    std::vector<std::string> asked;
    bool is_saved = false;
    StreamReporter reporter(out.get(), {.host_width = 1,
                                        .rerun_command = "deployd --retry-failed p",
                                        .rerun_fallback = [&](const std::vector<std::string>& hosts) {
                                          asked = hosts;
                                          return is_saved ? std::string() : "deployd p --limit b,c";
                                        }});
    reporter.on(at(0, RunStart{"r", "p", 3, {}}));
    reporter.on(at(0, HostEnd{"a", HostStatus::Ok, ""}));
    reporter.on(at(0, HostEnd{"b", HostStatus::Failed, "x"}));
    reporter.on(at(0, HostEnd{"c", HostStatus::Unreachable, "y"}));
    reporter.on(at(0, RunEnd{RunStatus::Failed, 1, {1, 1, 1, 0, 0}, 1500}));
    const std::string text = out.text();
    CHECK(text.substr(text.rfind("deployd:")) == "deployd: rerun the failed hosts: deployd p --limit b,c\n");
    CHECK(asked == std::vector<std::string>{"b", "c"});
  }

  TEST_CASE("an interrupted run says so first") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {});
    reporter.on(at(0, RunStart{"r", "p", 2, {}}));
    reporter.on(at(0, RunEnd{RunStatus::Interrupted, 130, {1, 0, 0, 0, 1}, 800}));
    CHECK(out.text() == "deployd: interrupted: 2 hosts: 1 ok, 1 aborted in 0.8s\n");
  }

  TEST_CASE("finish prints the summary once, and unfinished when no run_end came") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 1});
    reporter.on(at(0, RunStart{"r", "p", 2, {}}));
    reporter.on(at(0, HostEnd{"a", HostStatus::Ok, ""}));
    reporter.on(at(2500, out_line("b", "still going")));
    reporter.finish();
    reporter.finish();
    CHECK(out.text() ==
          "b | still going\n"
          "deployd: unfinished: 1 host: 1 ok in 2.5s\n");

    MemoryFile ended;
    StreamReporter complete(ended.get(), {});
    play_twenty_hosts(complete);
    complete.finish();
    const std::string text = ended.text();
    CHECK(text.find("deployd: 20 hosts") == text.rfind("deployd: 20 hosts"));
  }

  TEST_CASE("the host column is as wide as the widest host name as displayed") {
    CHECK(host_column_width({"a", "node001", "db1"}) == 7);
    CHECK(host_column_width({"h\xc3\xb6st"}) == 4);
    CHECK(host_column_width({"x\x1b"}) == 5);
    CHECK(host_column_width({}) == 0);
  }

  TEST_CASE("a long transfer prints its progress at most every five seconds per host") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 3});
    const std::uint64_t mib = 1 << 20;
    reporter.on(at(1000, Progress{"db1", "deploy", 0, 64 * mib, 200 * mib, 16 * mib}));
    reporter.on(at(2000, Progress{"db1", "deploy", 0, 80 * mib, 200 * mib, 16 * mib}));   // too soon
    reporter.on(at(2500, Progress{"web", "deploy", 0, 512, 1024, 512}));                  // other host
    reporter.on(at(6000, Progress{"db1", "deploy", 0, 150 * mib, 200 * mib, 25 * mib}));
    CHECK(out.text() ==
          "db1 ~ deploy step 1: 64.0 MiB of 200.0 MiB (32%), 16.0 MiB/s\n"
          "web ~ deploy step 1: 512 B of 1.0 KiB (50%), 512 B/s\n"
          "db1 ~ deploy step 1: 150.0 MiB of 200.0 MiB (75%), 25.0 MiB/s\n");
  }

  TEST_CASE("a transfer whose total is not known never reads `of 0 B (100%)`") {
    MemoryFile out;
    StreamReporter reporter(out.get(), {.host_width = 3});
    const std::uint64_t mib = 1 << 20;
    reporter.on(at(1000, Progress{"db1", "fetch", 0, 115 * mib, 0, 16 * mib}));
    reporter.on(at(7000, Progress{"db1", "fetch", 0, 130 * mib, 120 * mib, 16 * mib}));  // it grew
    CHECK(out.text() ==
          "db1 ~ fetch step 1: 115.0 MiB so far (total not known), 16.0 MiB/s\n"
          "db1 ~ fetch step 1: 130.0 MiB so far (total not known), 16.0 MiB/s\n");
  }
}

}  // namespace deployd::report
