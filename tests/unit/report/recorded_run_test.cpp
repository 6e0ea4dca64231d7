// SPDX-License-Identifier: MIT
// Tests of src/report/recorded_run.cpp and run_view.cpp: a run log written by RunLog (the real
// format), read back into attempts, output and figures.
#include "report/recorded_run.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>

#include "report/run_context.hpp"
#include "report/run_log.hpp"
#include "report/run_view.hpp"
#include "support.hpp"
#include "support/temp_folder.hpp"

namespace deployd::report {

using test::at;
using testing::TempFolder;

namespace {

StepEnd end_of(const std::string& host, const std::string& task, int step, StepStatus status,
               std::optional<int> exit, std::string error = {}) {
  StepEnd end;
  end.host = host;
  end.task = task;
  end.step = step;
  end.status = status;
  end.exit_status = exit;
  end.error = std::move(error);
  return end;
}

Output line(const std::string& host, int step, OutputStream stream, std::string text,
            bool partial = false) {
  return Output{host, "deploy", step, stream, std::move(text), partial};
}

// web1: ok with a transfer that changed it; web2: step 0 failed once, retried, then ok;
// web3: step 1 fails; web4: its step 0 never ends (the run was interrupted).
std::filesystem::path record_run(const TempFolder& dir) {
  auto opened = RunLog::open(dir.path(), "20261128T134235Z-abcdef");
  REQUIRE(opened.log);
  RunLog& log = *opened.log;
  RunContext context;
  context.hosts = {"web1", "web2", "web3", "web4"};
  context.wave_ends = {1, 4};
  context.barriers = {"deploy"};
  REQUIRE(write_run_context(log.dir(), context).empty());
  log.on(at(0, RunStart{"20261128T134235Z-abcdef", "/srv/plan.json", 4, {"deploy"}, ""}));
  log.on(at(10, StepStart{"web1", "deploy", 0, "copy"}));
  StepEnd copied = end_of("web1", "deploy", 0, StepStatus::Ok, std::nullopt);
  copied.transfer = TransferStats{1024, false};
  log.on(at(110, copied));
  log.on(at(120, StepStart{"web1", "deploy", 1, "restart"}));
  log.on(at(130, line("web1", 1, OutputStream::Stdout, "half ", true)));
  log.on(at(131, line("web1", 1, OutputStream::Stdout, "and the rest")));
  log.on(at(220, end_of("web1", "deploy", 1, StepStatus::Ok, 0)));
  log.on(at(221, HostEnd{"web1", HostStatus::Ok, ""}));
  log.on(at(300, StepStart{"web2", "deploy", 0, "copy"}));
  log.on(at(350, end_of("web2", "deploy", 0, StepStatus::Failed, 1,
                        "exited with status 1 (attempt 1 of 2; next in 1s)")));
  log.on(at(1350, StepStart{"web2", "deploy", 0, "copy"}));
  log.on(at(1400, end_of("web2", "deploy", 0, StepStatus::Ok, 0)));
  log.on(at(1410, HostEnd{"web2", HostStatus::Ok, ""}));
  log.on(at(300, StepStart{"web3", "deploy", 1, "restart"}));
  log.on(at(310, line("web3", 1, OutputStream::Stderr, "cannot bind: address in use")));
  log.on(at(320, end_of("web3", "deploy", 1, StepStatus::Failed, 3)));
  log.on(at(321, HostEnd{"web3", HostStatus::Failed,
                         "web3: deploy step 2 (restart): exited with status 3"}));
  log.on(at(400, StepStart{"web4", "deploy", 0, "copy"}));
  log.on(at(2000, RunEnd{RunStatus::Interrupted, 130, {}, 2000}));
  log.finish();
  return log.dir();
}

}  // namespace

TEST_CASE(
    "read_recorded_run: attempts, retries, cut-off steps and output, from RunLog's own files") {
  TempFolder dir;
  std::string error;
  std::optional<RecordedRun> run = read_recorded_run(record_run(dir), error);
  REQUIRE_MESSAGE(run, error);
  CHECK(run->warnings.empty());
  CHECK(run->run_id == "20261128T134235Z-abcdef");
  CHECK(run->status == "interrupted");
  CHECK(run->exit_code == 130);
  CHECK(run->duration_ms == 2000);
  REQUIRE(run->hosts.size() == 4);
  CHECK(run->hosts[0].wave == 0);
  CHECK(run->hosts[3].wave == 1);

  const HostRecord& web1 = run->hosts[0];
  REQUIRE(web1.attempts.size() == 2);
  CHECK(web1.attempts[0].status == BarStatus::Changed);  // the transfer moved bytes
  CHECK(web1.attempts[0].start_ms == 10);
  CHECK(web1.attempts[0].end_ms == 110);
  CHECK(web1.attempts[1].status == BarStatus::Ok);
  REQUIRE(web1.output.size() == 1);
  CHECK(web1.output[0].text == "half and the rest");  // the partial line joined

  const HostRecord& web2 = run->hosts[1];
  REQUIRE(web2.attempts.size() == 2);
  CHECK(web2.attempts[0].status == BarStatus::Retried);
  CHECK(web2.attempts[1].status == BarStatus::Ok);

  const HostRecord& web4 = run->hosts[3];
  REQUIRE(web4.attempts.size() == 1);
  CHECK(web4.attempts[0].status == BarStatus::Aborted);
  CHECK(web4.attempts[0].end_ms == 2000);
  CHECK(web4.status.empty());
}

TEST_CASE(
    "read_recorded_run: a torn line is skipped with its line number; no run_start is an error") {
  TempFolder dir;
  const std::filesystem::path run_dir = record_run(dir);
  {
    std::ofstream out(run_dir / "events.jsonl", std::ios::app);
    out << "{\"event\":\"step_st";
  }
  std::string error;
  std::optional<RecordedRun> run = read_recorded_run(run_dir, error);
  REQUIRE(run);
  REQUIRE(run->warnings.size() == 1);
  INFO(run->warnings[0]);
  CHECK(run->warnings[0].find("events.jsonl\":20: not an event; skipped") != std::string::npos);

  std::ofstream(run_dir / "events.jsonl") << "{}\n";
  CHECK_FALSE(read_recorded_run(run_dir, error));
  CHECK(error.find("holds no run_start") != std::string::npos);
  CHECK_FALSE(read_recorded_run(dir.path() / "nowhere", error));
  CHECK(error.find("cannot read") != std::string::npos);
}

TEST_CASE(
    "task_stats: hosts counted by their worst step, retries on the side, nearest-rank times") {
  TempFolder dir;
  std::string error;
  std::optional<RecordedRun> run = read_recorded_run(record_run(dir), error);
  REQUIRE(run);
  std::vector<TaskStats> stats = task_stats(*run);
  REQUIRE(stats.size() == 1);
  const TaskStats& deploy = stats[0];
  CHECK(deploy.hosts == 4);
  CHECK(deploy.changed == 1);  // web1
  CHECK(deploy.ok == 1);       // web2, after its retry
  CHECK(deploy.retried == 1);
  CHECK(deploy.failed == 1);     // web3
  CHECK(deploy.aborted == 1);    // web4
  CHECK(deploy.min_ms == 20);    // web3: 300..320
  CHECK(deploy.max_ms == 1600);  // web4: 400..2000 (cut off at the run's end)
  CHECK(percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 95) == 10);
  CHECK(percentile({1, 2, 3, 4}, 50) == 2);
  int in_bins = 0;
  for (int count : deploy.histogram) in_bins += count;
  CHECK(in_bins == 4);
}

TEST_CASE("failure_groups: the same failure on many hosts is one group, without the host's name") {
  TempFolder dir;
  std::string error;
  std::optional<RecordedRun> run = read_recorded_run(record_run(dir), error);
  REQUIRE(run);
  std::vector<FailureGroup> groups = failure_groups(*run);
  REQUIRE(groups.size() == 2);  // web3's failed step, web4 cut off
  const auto web3 = std::find_if(groups.begin(), groups.end(),
                                 [](const FailureGroup& g) { return g.host_list == "web3"; });
  REQUIRE(web3 != groups.end());
  CHECK(web3->reason == "deploy step 2 (restart): exited with status 3");
  CHECK(web3->last_stderr == std::vector<std::string>{"cannot bind: address in use"});

  // Two more hosts failing the same way fold into the first's group, as a range.
  for (const char* name : {"web5", "web6"}) {
    HostRecord copy = run->hosts[2];
    copy.name = name;
    run->hosts.push_back(copy);
  }
  groups = failure_groups(*run);
  CHECK(groups[0].host_list == "web[3,5-6]");
  CHECK(groups[0].hosts.size() == 3);
}

TEST_CASE("host_folds: identical hosts (wave, steps, statuses) share a row") {
  TempFolder dir;
  std::string error;
  std::optional<RecordedRun> run = read_recorded_run(record_run(dir), error);
  REQUIRE(run);
  CHECK(host_folds(*run).size() == 4);
  HostRecord copy = run->hosts[1];
  copy.name = "web7";
  run->hosts.push_back(copy);
  const std::vector<HostFold> folds = host_folds(*run);
  REQUIRE(folds.size() == 4);
  CHECK(folds[1].label == "web[2,7]");
}

TEST_CASE("masked_command_line: --var values never reach the run log") {
  CHECK(masked_command_line({"deployd", "p.json", "--var", "token=s3cret", "--var=pw=x=y", "-H",
                             "a"}) == std::vector<std::string>{"deployd", "p.json", "--var",
                                                               "token=***", "--var=pw=***", "-H",
                                                               "a"});
}

TEST_CASE("run.json: written and read back; a corrupt one is an error naming it") {
  TempFolder dir;
  RunContext context;
  context.command_line = {"deployd", "plan.json"};
  context.user = "ops";
  context.policy = {{"forks", "10"}};
  context.hosts = {"a", "b"};
  context.wave_ends = {1, 2};
  context.barriers = {"t"};
  REQUIRE(write_run_context(dir.path(), context).empty());
  auto [read, error] = read_run_context(dir.path());
  CHECK(error.empty());
  CHECK(read.command_line == context.command_line);
  CHECK(read.policy == context.policy);
  CHECK(read.wave_ends == context.wave_ends);
  CHECK(read.barriers == context.barriers);
  std::ofstream(dir.path() / "run.json") << "{\"hosts\": 3}";
  CHECK(read_run_context(dir.path()).second.find("run.json\" is corrupt") != std::string::npos);
}

}  // namespace deployd::report

namespace deployd::report {

// Found by tests/integration/report_test.py on the fleet: hosts cancelled together by an
// interrupt fell into one group each (their errors differ in "after 303ms"), the engine's
// message was prefixed with the step a second time, and the cancelled steps counted as failed.
TEST_CASE(
    "failure_groups: durations do not split a group, and the engine's step prefix is not doubled") {
  RecordedRun run;
  run.tasks = {"t"};
  for (const char* name : {"a1", "a2", "a3"}) {
    HostRecord host;
    host.name = name;
    host.status = "aborted";
    host.attempts.push_back(
        Attempt{.task = 0,
                .step = 0,
                .name = "sleep",
                .status = BarStatus::Aborted,
                .error = std::string("t step 1 (run \"sleep\"): cancelled after ") +
                         (name[1] == '1'   ? "40ms"
                          : name[1] == '2' ? "1.5s"
                                           : "2m05s") +
                         ": the run was interrupted"});
    run.hosts.push_back(host);
  }
  const std::vector<FailureGroup> groups = failure_groups(run);
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].host_list == "a[1-3]");
  CHECK(groups[0].reason ==
        "t step 1 (run \"sleep\"): cancelled after 40ms: the run was interrupted");
}

TEST_CASE("read_recorded_run: an aborted host's last failed step shows as aborted") {
  TempFolder dir;
  auto opened = RunLog::open(dir.path(), "20261128T134235Z-abcdef");
  REQUIRE(opened.log);
  opened.log->on(at(0, RunStart{"20261128T134235Z-abcdef", "/srv/plan.json", 1, {"t"}, ""}));
  opened.log->on(at(10, StepStart{"h1", "t", 0, "sleep"}));
  opened.log->on(at(20, end_of("h1", "t", 0, StepStatus::Failed, std::nullopt, "cancelled")));
  opened.log->on(at(21, HostEnd{"h1", HostStatus::Aborted, "interrupted"}));
  opened.log->finish();
  std::string error;
  std::optional<RecordedRun> run = read_recorded_run(opened.log->dir(), error);
  REQUIRE(run);
  REQUIRE(run->hosts.size() == 1);
  CHECK(run->hosts[0].attempts[0].status == BarStatus::Aborted);
}

}  // namespace deployd::report
