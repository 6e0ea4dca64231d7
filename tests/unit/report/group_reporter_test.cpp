// SPDX-License-Identifier: MIT
// Tests of src/report/group_reporter.cpp: events in, exact grouped text out.
#include "report/group_reporter.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>
#include <vector>

#include "support.hpp"

namespace deployd::report {

using test::at;
using test::MemoryFile;

namespace {

const std::vector<std::string> kHosts{"web01", "web02", "web03", "web04",
                                      "web05", "web06", "web07", "db1"};

GroupOptions deploy_options() {
  GroupOptions options;
  options.host_width = 5;
  return options;
}

// run_start of a run of one task, "deploy", of `steps` steps on `hosts`, in `wave_ends` waves.
Event deploy_start(int steps, std::vector<std::string> hosts = kHosts,
                   std::vector<std::size_t> wave_ends = {}) {
  RunStart start{"r",        "plan.json", static_cast<int>(hosts.size()),
                 {"deploy"}, "",          std::move(wave_ends)};
  start.host_names = hosts;
  start.targets = {TaskTargets{"deploy", steps, std::move(hosts)}};
  return at(0, std::move(start));
}

// Ten lines of a report; the fifth names the kernel.
std::vector<std::string> report_lines(const std::string& kernel) {
  std::vector<std::string> lines;
  for (int i = 1; i <= 10; ++i)
    lines.push_back(i == 5 ? "kernel " + kernel : fmt::format("line {}", i));
  return lines;
}

void play_step(Reporter& reporter, const std::string& host, int step,
               const std::vector<std::string>& lines, int exit_status = 0, int ms = 100) {
  reporter.on(at(0, StepStart{host, "deploy", step, step == 0 ? "report" : "restart"}));
  for (const std::string& line : lines)
    reporter.on(at(0, Output{host, "deploy", step, OutputStream::Stdout, line}));
  StepEnd end{host,        "deploy", step, exit_status == 0 ? StepStatus::Ok : StepStatus::Failed,
              exit_status, "",       ms,   ""};
  if (exit_status != 0)
    end.error = fmt::format("deploy step {} (run \"x\"): exited with status {} after 0.1s",
                            step + 1, exit_status);
  reporter.on(at(0, end));
}

std::string report_block(const std::string& prefix, const std::string& kernel) {
  std::string text;
  for (const std::string& line : report_lines(kernel)) text += prefix + line + "\n";
  return text;
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("group: a step prints once every host has ended it, identical outputs coalesced") {
    MemoryFile out;
    GroupOptions options = deploy_options();
    options.run_log = "runs/r";
    options.rerun_command = "deployd --retry-failed plan.json";
    GroupReporter reporter(out.get(), options);
    reporter.on(deploy_start(2));
    for (const std::string& host : kHosts) {
      if (host == "web06") {
        play_step(reporter, host, 0, report_lines("5.4.0"), 1);
        reporter.on(
            at(0, StepEnd{host, "deploy", 1, StepStatus::Skipped, std::nullopt, "", 0, "skipped"}));
        continue;
      }
      CHECK(out.text().empty());  // step 1 is not done on every host yet
      play_step(reporter, host, 0, report_lines("5.10.0"));
    }
    const std::string step1 =
        "== deploy step 1: report\n"
        "web[01-05,07],db1 (7 hosts): ok\n" +
        report_block("  | ", "5.10.0") +
        "web06: exit 1, diff against the majority:\n"
        "  @@ -4,3 +4,3 @@\n"
        "   | line 4\n"
        "  -| kernel 5.10.0\n"
        "  +| kernel 5.4.0\n"
        "   | line 6\n";
    CHECK(out.text() == step1);  // printed before any host started step 2
    for (const std::string& host : kHosts) {
      if (host != "web06") play_step(reporter, host, 1, {}, 0, 200);
    }
    const std::string step2 =
        "== deploy step 2: restart\n"
        "web[01-05,07],db1 (7 hosts): ok\n";
    CHECK(out.text() == step1 + step2);
    for (const std::string& host : kHosts) {
      reporter.on(
          at(0, HostEnd{host, host == "web06" ? HostStatus::Failed : HostStatus::Ok,
                        host == "web06"
                            ? "web06: deploy step 1 (run \"x\"): exited with status 1 after 0.1s"
                            : ""}));
    }
    reporter.on(at(2000, RunEnd{RunStatus::Failed, 1, {7, 1, 0, 0, 0}, 2000}));
    reporter.finish();
    CHECK(out.text() ==
          step1 + step2 +
              "deployd: 8 hosts: 7 ok, 1 failed in 2.0s\n"
              "  task    ok  failed  skipped   min  median   max\n"
              "  deploy   7       1        0  0.1s    0.3s  0.3s\n"
              "  web06 failed: deploy step 1 (run \"x\"): exited with status 1 after 0.1s\n"
              "deployd: run log: runs/r\n"
              "deployd: rerun the failed hosts: deployd --retry-failed plan.json\n");
  }

  TEST_CASE("group: an outlier whose diff is longer than its output shows its output") {
    MemoryFile out;
    GroupReporter reporter(out.get(), deploy_options());
    reporter.on(deploy_start(1, {"a1", "a2", "a3", "b"}));
    for (std::string host : {"a1", "a2", "a3"}) play_step(reporter, host, 0, {"same"});
    reporter.on(at(0, StepStart{"b", "deploy", 0, "report"}));
    reporter.on(at(0, Output{"b", "deploy", 0, OutputStream::Stderr, "other"}));
    reporter.on(at(0, StepEnd{"b", "deploy", 0, StepStatus::Ok, 0, "", 1, ""}));
    CHECK(out.text() ==
          "== deploy step 1: report\n"
          "a[1-3] (3 hosts): ok\n"
          "  | same\n"
          "b: ok\n"
          "  ! other\n");
  }

  TEST_CASE("group: the same output with another status is not repeated") {
    MemoryFile out;
    GroupReporter reporter(out.get(), deploy_options());
    reporter.on(deploy_start(1, {"a1", "a2", "b"}));
    play_step(reporter, "a1", 0, {"x"});
    play_step(reporter, "b", 0, {"x"}, 3);
    play_step(reporter, "a2", 0, {"x"});
    CHECK(out.text() ==
          "== deploy step 1: report\n"
          "a[1-2] (2 hosts): ok\n"
          "  | x\n"
          "b: exit 3, same output as the majority\n");
  }

  TEST_CASE("group: an ignored failure says failed (ignored), apart from a real one") {
    MemoryFile out;
    GroupReporter reporter(out.get(), deploy_options());
    reporter.on(deploy_start(1, {"a1", "a2", "b"}));
    for (const char* host : {"a1", "a2", "b"}) {
      reporter.on(at(0, StepStart{host, "deploy", 0, "report"}));
      reporter.on(at(0, Output{host, "deploy", 0, OutputStream::Stdout, "x"}));
      StepEnd end{host, "deploy", 0, StepStatus::Failed, 1, "", 5, "deploy step 1 (run \"x\"): exited with status 1 after 5ms"};
      end.ignored = host[0] == 'a';
      reporter.on(at(0, end));
    }
    CHECK(out.text() ==
          "== deploy step 1: report\n"
          "a[1-2] (2 hosts): failed (ignored): exit 1\n"
          "  | x\n"
          "b: exit 1, same output as the majority\n");
  }

  TEST_CASE("group: a retried attempt is not a result; the host's last attempt is") {
    MemoryFile out;
    GroupReporter reporter(out.get(), deploy_options());
    reporter.on(deploy_start(1, {"a1", "a2"}));
    reporter.on(at(0, StepStart{"a1", "deploy", 0, "report"}));
    reporter.on(at(0, Output{"a1", "deploy", 0, OutputStream::Stdout, "busy"}));
    StepEnd retried{"a1", "deploy", 0, StepStatus::Failed, 1, "", 5, "exited with status 1 (attempt 1 of 2; next in 1s)"};
    retried.will_retry = true;
    reporter.on(at(0, retried));
    play_step(reporter, "a2", 0, {"x"});
    CHECK(out.text().empty());  // a1 is still on the step
    play_step(reporter, "a1", 0, {"x"});
    CHECK(out.text() ==
          "== deploy step 1: report\n"
          "a[1-2] (2 hosts): ok\n"
          "  | x\n");
  }

  TEST_CASE("group: a host that ends early (unreachable) never holds a step back") {
    MemoryFile out;
    GroupReporter reporter(out.get(), deploy_options());
    reporter.on(deploy_start(1, {"a", "b"}));
    play_step(reporter, "a", 0, {"hi"});
    CHECK(out.text().empty());
    reporter.on(at(
        0, HostEnd{"b", HostStatus::Unreachable, "b: connect 127.0.0.2:22: connection refused"}));
    CHECK(out.text() ==
          "b: unreachable: connect 127.0.0.2:22: connection refused\n"
          "== deploy step 1: report\n"
          "a: ok\n"
          "  | hi\n");
  }

  TEST_CASE("group: output past the head limits is cut, counted and pointed to in the run log") {
    MemoryFile out;
    GroupOptions options = deploy_options();
    options.head = HeadLimits{.bytes = 1 << 20, .lines = 2};
    options.run_log = "runs/r";
    GroupReporter reporter(out.get(), options);
    reporter.on(deploy_start(1, {"a", "b"}));
    std::vector<std::string> many{"1", "2", "3", "4"};
    play_step(reporter, "a", 0, many);
    play_step(reporter, "b", 0, many);
    CHECK(out.text() ==
          "== deploy step 1: report\n"
          "a,b (2 hosts): ok\n"
          "  | 1\n"
          "  | 2\n"
          "  ... 4 lines, 8 B in all: the rest is in the run log runs/r\n");
  }

  TEST_CASE("group: a line longer than the head shows its beginning") {
    MemoryFile out;
    GroupOptions options = deploy_options();
    options.head = HeadLimits{.bytes = sizeof(OutputDigest::Line) + 24, .lines = 10};
    GroupReporter reporter(out.get(), options);
    reporter.on(deploy_start(1, {"a"}));
    play_step(reporter, "a", 0, {std::string(100, 'x'), "more"});
    CHECK(out.text() ==
          "== deploy step 1: report\n"
          "a: ok\n"
          "  | " +
              std::string(24, 'x') +
              "\n"
              "  ... 2 lines, 106 B in all: the rest is in the run log\n");
  }

  TEST_CASE("group: outputs that differ past the head are still told apart") {
    MemoryFile out;
    GroupOptions options = deploy_options();
    options.head = HeadLimits{.bytes = 1 << 20, .lines = 1};
    GroupReporter reporter(out.get(), options);
    reporter.on(deploy_start(1, {"a", "b"}));
    play_step(reporter, "a", 0, {"same", "tail a"});
    play_step(reporter, "b", 0, {"same", "tail b"});
    CHECK(out.text() ==
          "== deploy step 1: report\n"
          "a: ok\n"
          "  | same\n"
          "  ... 2 lines, 12 B in all: the rest is in the run log\n"
          "b: ok\n"
          "  | same\n"
          "  ... 2 lines, 12 B in all: the rest is in the run log\n");
  }

  TEST_CASE("group: the head budget bounds what is held across all hosts") {
    MemoryFile out;
    GroupOptions options = deploy_options();
    options.budget_bytes = 60;  // room for one short line with its bookkeeping
    GroupReporter reporter(out.get(), options);
    reporter.on(deploy_start(1, {"a", "b"}));
    play_step(reporter, "a", 0, {"first", "second"});
    play_step(reporter, "b", 0, {"other"});
    const std::string text = out.text();
    CHECK(text.find("a: ok\n  | first\n  ... 2 lines, 13 B in all") != std::string::npos);
    CHECK(text.find("b: ok\n  ... 1 line, 6 B in all") != std::string::npos);
  }

  TEST_CASE("group: long-line pieces hash as the line; whole lines are compared, not what a \\r redraw shows") {
    MemoryFile out;
    GroupReporter reporter(out.get(), deploy_options());
    reporter.on(deploy_start(1, {"a", "b"}));
    play_step(reporter, "a", 0, {"10%\r55%\r100%", "done"});
    play_step(reporter, "b", 0, {"20%\r100%", "done"});
    CHECK(out.text() ==
          "== deploy step 1: report\n"
          "a: ok\n"
          "  | 100%\n"
          "  | done\n"
          "b: ok, differs from the majority only where the terminal does not show it (see the run log)\n");

    // The same whole lines, in pieces or not, are one result.
    MemoryFile same;
    GroupReporter again(same.get(), deploy_options());
    again.on(deploy_start(1, {"a", "b"}));
    play_step(again, "a", 0, {"20%\r100%", "done"});
    again.on(at(0, StepStart{"b", "deploy", 0, "report"}));
    again.on(at(0, Output{"b", "deploy", 0, OutputStream::Stdout, "20%\r100%"}));
    again.on(at(0, Output{"b", "deploy", 0, OutputStream::Stdout, "do", true}));
    again.on(at(0, Output{"b", "deploy", 0, OutputStream::Stdout, "ne"}));
    again.on(at(0, StepEnd{"b", "deploy", 0, StepStatus::Ok, 0, "", 1, ""}));
    CHECK(same.text() ==
          "== deploy step 1: report\n"
          "a,b (2 hosts): ok\n"
          "  | 100%\n"
          "  | done\n");
  }

  TEST_CASE("group: the order stdout and stderr lines arrived in does not split a result") {
    MemoryFile out;
    GroupReporter reporter(out.get(), deploy_options());
    reporter.on(deploy_start(1, {"a", "b", "c"}));
    auto play = [&](const std::string& host, const std::vector<std::pair<OutputStream, std::string>>& lines) {
      reporter.on(at(0, StepStart{host, "deploy", 0, "report"}));
      for (const auto& [stream, line] : lines) reporter.on(at(0, Output{host, "deploy", 0, stream, line}));
      reporter.on(at(0, StepEnd{host, "deploy", 0, StepStatus::Ok, 0, "", 1, ""}));
    };
    play("a", {{OutputStream::Stdout, "one"}, {OutputStream::Stderr, "warn"}, {OutputStream::Stdout, "two"}});
    play("b", {{OutputStream::Stderr, "warn"}, {OutputStream::Stdout, "one"}, {OutputStream::Stdout, "two"}});
    play("c", {{OutputStream::Stdout, "one"}, {OutputStream::Stdout, "two"}, {OutputStream::Stdout, "warn"}});
    CHECK(out.text() ==
          "== deploy step 1: report\n"
          "a,b (2 hosts): ok\n"
          "  | one\n"
          "  | two\n"
          "  ! warn\n"
          "c: ok\n"
          "  | one\n"
          "  | two\n"
          "  | warn\n");
  }

  TEST_CASE("group: each host's resolved label, folded, heads the step") {
    MemoryFile out;
    GroupReporter reporter(out.get(), deploy_options());
    reporter.on(deploy_start(2, {"web01", "web02"}));
    for (const std::string host : {"web01", "web02"}) {
      reporter.on(at(0, StepStart{host, "deploy", 0, "mkdir -p /srv/" + host + "/releases"}));
      reporter.on(at(0, StepEnd{host, "deploy", 0, StepStatus::Ok, 0, "", 1, ""}));
    }
    reporter.on(at(0, StepStart{"web01", "deploy", 1, "echo 1.4.2"}));
    reporter.on(at(0, StepEnd{"web01", "deploy", 1, StepStatus::Ok, 0, "", 1, ""}));
    reporter.on(at(0, StepStart{"web02", "deploy", 1, "echo 1.4.1"}));
    reporter.on(at(0, StepEnd{"web02", "deploy", 1, StepStatus::Ok, 0, "", 1, ""}));
    CHECK(out.text() ==
          "== deploy step 1: mkdir -p /srv/<host>/releases\n"
          "web[01-02] (2 hosts): ok\n"
          "== deploy step 2: echo 1.4.2 (differs per host)\n"
          "web[01-02] (2 hosts): ok\n");
  }

  TEST_CASE("group: a rolling deploy prints each step per wave, as each wave is done with it") {
    MemoryFile out;
    GroupOptions options = deploy_options();
    GroupReporter reporter(out.get(), options);
    // batches [1, "100%"]
    reporter.on(deploy_start(1, {"a1", "a2", "a3", "a4"}, {1, 4}));
    play_step(reporter, "a1", 0, {"x"});
    const std::string wave1 =
        "== deploy step 1 (wave 1 of 2): report\n"
        "a1: ok\n"
        "  | x\n";
    CHECK(out.text() == wave1);  // before any host of wave 2 started
    for (std::string host : {"a2", "a3"}) play_step(reporter, host, 0, {"x"});
    CHECK(out.text() == wave1);
    play_step(reporter, "a4", 0, {"y"}, 2);
    CHECK(out.text() == wave1 +
                            "== deploy step 1 (wave 2 of 2): report\n"
                            "a[2-3] (2 hosts): ok\n"
                            "  | x\n"
                            "a4: exit 2\n"
                            "  | y\n");
  }

  TEST_CASE("group: hosts are grouped by the waves run_start announced") {
    MemoryFile out;
    GroupOptions options = deploy_options();
    GroupReporter reporter(out.get(), options);
    reporter.on(deploy_start(1, {"a1", "a2", "a3", "a4"}, {2, 4}));  // batches [2]
    play_step(reporter, "a1", 0, {"x"});
    CHECK(out.text().empty());  // a2 is in a1's wave
    play_step(reporter, "a2", 0, {"x"});
    const std::string wave1 =
        "== deploy step 1 (wave 1 of 2): report\n"
        "a[1-2] (2 hosts): ok\n"
        "  | x\n";
    CHECK(out.text() == wave1);
    for (std::string host : {"a3", "a4"}) play_step(reporter, host, 0, {"x"});
    CHECK(out.text() == wave1 +
                            "== deploy step 1 (wave 2 of 2): report\n"
                            "a[3-4] (2 hosts): ok\n"
                            "  | x\n");
  }

  TEST_CASE("group: a run_start without waves (an older run log) is one wave") {
    MemoryFile out;
    GroupOptions options = deploy_options();
    GroupReporter reporter(out.get(), options);
    reporter.on(deploy_start(1, {"a1", "a2"}));
    play_step(reporter, "a1", 0, {"x"});
    CHECK(out.text().empty());
    play_step(reporter, "a2", 0, {"x"});
    CHECK(out.text() ==
          "== deploy step 1: report\n"
          "a[1-2] (2 hosts): ok\n"
          "  | x\n");
  }
}

}  // namespace deployd::report
