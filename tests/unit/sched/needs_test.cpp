// SPDX-License-Identifier: MIT
// Needs across hosts, waves and failures (issue 14; plan-format.md, needs): the rules R1-R4 of
// the scheduler, each on the smallest shape that shows it.
#include <doctest/doctest.h>

#include "sched/scheduler.hpp"

namespace deployd::sched {
namespace {

// Runs every job `host` may run now to success; returns the tasks it ran.
std::vector<int> run_ready(Scheduler& scheduler, int host) {
  std::vector<int> ran;
  for (NextJob next = scheduler.next_job(host); next.kind == NextJob::Kind::Run; next = scheduler.next_job(host)) {
    scheduler.job_finished(host, next.task, true);
    ran.push_back(next.task);
  }
  return ran;
}

// The example: web = hosts 0-2, monitoring = host 3; task 0 "facts" runs once on the
// monitoring host, task 1 "deploy" on the web hosts needs it; waves of one host.
RunShape facts_and_deploy() {
  return RunShape{.needs = {{}, {0}}, .host_tasks = {{1}, {1}, {1}, {0}}, .waits_for_all = {1, 0},
                  .runs_once = {1, 0}};
}

constexpr Amount kOne{1, false};

}  // namespace

TEST_SUITE("sched needs") {
  TEST_CASE("issue 14: run_once facts on a monitoring host of a later wave runs first; deploy runs on every web host") {
    Scheduler scheduler(facts_and_deploy(), Limits{.batches = {kOne}});
    CHECK(scheduler.wave_count() == 4);
    CHECK(scheduler.effective_wave(3, 0) == 0);  // needed by wave 1: runs in wave 1
    // The monitoring host is admitted with the first wave, for facts only.
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0, 3});
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Wait);
    CHECK(run_ready(scheduler, 3) == std::vector<int>{0});
    scheduler.host_finished(3, HostStatus::Ok);
    for (int web = 0; web < 3; ++web) {
      std::vector<int> started = scheduler.take_startable_hosts();
      REQUIRE(started == std::vector<int>{web});
      NextJob next = scheduler.next_job(web);
      CHECK(next.skipped.empty());
      REQUIRE(next.kind == NextJob::Kind::Run);
      CHECK(next.task == 1);
      scheduler.job_finished(web, 1, true);
      CHECK(scheduler.next_job(web).kind == NextJob::Kind::Finished);
      scheduler.host_finished(web, HostStatus::Ok);
    }
    CHECK(scheduler.is_done());
  }

  TEST_CASE("a host admitted early for a need runs its other tasks in its own wave") {
    // Host 1 (wave 2) runs task 0 "deploy" (no need) and task 1 "static"; host 0 (wave 1)
    // runs task 2 "sync", which needs static: a cross-group need, so static runs in wave 1.
    RunShape shape{.needs = {{}, {}, {1}}, .host_tasks = {{2}, {0, 1}}};
    Scheduler scheduler(shape, Limits{.batches = {kOne}});
    CHECK(scheduler.remaining_jobs(1) == std::vector<int>{1, 0});  // early jobs first
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0, 1});
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Wait);
    CHECK(scheduler.next_job(1).task == 1);
    scheduler.job_finished(1, 1, true);
    CHECK(scheduler.next_job(1).kind == NextJob::Kind::Wait);  // deploy: wave 2
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    CHECK(run_ready(scheduler, 0) == std::vector<int>{2});
    scheduler.host_finished(0, HostStatus::Ok);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{1});
    CHECK(scheduler.current_wave() == 1);
    CHECK(run_ready(scheduler, 1) == std::vector<int>{0});
  }

  TEST_CASE("cross-group need: sync on nginx waits for static on every web host, without barrier") {
    // Hosts 0-1 web run task 0 "static"; host 2 nginx runs task 1 "sync" needing it.
    RunShape shape{.needs = {{}, {0}}, .host_tasks = {{0}, {0}, {1}}};
    Scheduler scheduler(shape, Limits{});
    CHECK(scheduler.need_kind(2, 1, 0) == NeedKind::AllHosts);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0, 1, 2});
    CHECK(scheduler.next_job(2).kind == NextJob::Kind::Wait);
    scheduler.job_finished(0, scheduler.next_job(0).task, true);
    CHECK(scheduler.take_startable_hosts().empty());  // web 1 has not synced its static yet
    scheduler.job_finished(1, scheduler.next_job(1).task, true);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{2});
    CHECK(scheduler.next_job(2).task == 1);
  }

  TEST_CASE("cross-group need with waves: the needed hosts of later waves run it first") {
    // Host 0 nginx (wave 1) syncs; hosts 1-2 web (waves 2, 3) build static first, and deploy
    // (task 2, no need) in their own wave.
    RunShape shape{.needs = {{}, {0}, {}}, .host_tasks = {{1}, {0, 2}, {0, 2}}};
    Scheduler scheduler(shape, Limits{.forks = 10, .batches = {kOne}});
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0, 1, 2});
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Wait);
    CHECK(run_ready(scheduler, 1) == std::vector<int>{0});
    CHECK(run_ready(scheduler, 2) == std::vector<int>{0});
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    CHECK(run_ready(scheduler, 0) == std::vector<int>{1});
    scheduler.host_finished(0, HostStatus::Ok);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{1});  // wave 2 only
    CHECK(run_ready(scheduler, 1) == std::vector<int>{2});
  }

  TEST_CASE("cross-group need failed on some hosts: skipped, naming them") {
    RunShape shape{.needs = {{}, {0}}, .host_tasks = {{0}, {0}, {0}, {1}}};
    Scheduler scheduler(shape, Limits{});
    scheduler.take_startable_hosts();
    CHECK(scheduler.next_job(3).kind == NextJob::Kind::Wait);
    scheduler.job_finished(0, scheduler.next_job(0).task, true);
    scheduler.job_finished(1, scheduler.next_job(1).task, false);
    scheduler.host_finished(1, HostStatus::Failed);
    scheduler.host_finished(2, HostStatus::Unreachable);  // never ran it: did not succeed either
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{3});
    NextJob next = scheduler.next_job(3);
    CHECK(next.skipped == std::vector<Skip>{{1, 0, NeedKind::AllHosts}});
    CHECK(next.kind == NextJob::Kind::Finished);
    CHECK(scheduler.failed_hosts(0) == std::vector<int>{1, 2});
  }

  TEST_CASE("cross-group need failed on every host: the task does not run") {
    RunShape shape{.needs = {{}, {0}}, .host_tasks = {{0}, {1}}, .waits_for_all = {0, 1}};
    Scheduler scheduler(shape, Limits{});
    scheduler.take_startable_hosts();
    CHECK(scheduler.next_job(1).kind == NextJob::Kind::Wait);
    scheduler.job_finished(0, scheduler.next_job(0).task, false);
    scheduler.host_finished(0, HostStatus::Failed);
    scheduler.take_startable_hosts();
    CHECK(scheduler.next_job(1).skipped == std::vector<Skip>{{1, 0, NeedKind::AllHosts}});
  }

  TEST_CASE("a run_once need that failed skips its dependents on every host") {
    Scheduler scheduler(facts_and_deploy(), Limits{});
    scheduler.take_startable_hosts();
    scheduler.job_finished(3, scheduler.next_job(3).task, false);
    scheduler.host_finished(3, HostStatus::Failed);
    scheduler.take_startable_hosts();
    for (int web = 0; web < 3; ++web) {
      NextJob next = scheduler.next_job(web);
      CHECK(next.skipped == std::vector<Skip>{{1, 0, NeedKind::AllHosts}});
      CHECK(next.kind == NextJob::Kind::Finished);
    }
    CHECK(scheduler.failed_hosts(0) == std::vector<int>{3});
  }

  TEST_CASE("per-host need: only the host's own result counts") {
    // Two hosts run both tasks; task 0 fails on host 0 only.
    RunShape shape{.needs = {{}, {0}}, .host_tasks = {{0, 1}, {0, 1}}};
    Scheduler scheduler(shape, Limits{});
    scheduler.take_startable_hosts();
    CHECK(scheduler.need_kind(1, 1, 0) == NeedKind::PerHost);
    scheduler.job_finished(0, 0, false);
    CHECK(scheduler.next_job(0).skipped == std::vector<Skip>{{1, 0, NeedKind::PerHost}});
    scheduler.job_finished(1, 0, true);
    CHECK(scheduler.next_job(1).task == 1);
  }

  TEST_CASE("barrier need: waits for every host, skips only where its own need failed") {
    RunShape shape{.needs = {{}, {0}}, .host_tasks = {{0, 1}, {0, 1}}, .waits_for_all = {0, 1}};
    Scheduler scheduler(shape, Limits{});
    scheduler.take_startable_hosts();
    CHECK(scheduler.need_kind(0, 1, 0) == NeedKind::Barrier);
    scheduler.job_finished(0, 0, true);
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Wait);
    scheduler.job_finished(1, 0, false);
    CHECK(scheduler.next_job(1).skipped == std::vector<Skip>{{1, 0, NeedKind::Barrier}});
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    CHECK(scheduler.next_job(0).task == 1);
  }

  TEST_CASE("a local task needing a remote task waits for it on every wave, and what needs it runs after") {
    // 0 remote on hosts 0-1 (two waves), 1 local needs 0, 2 on host 1 needs 1.
    RunShape shape{.needs = {{}, {0}, {1}}, .host_tasks = {{0}, {0, 2}, {1}},
                   .waits_for_all = {0, 1, 0}, .runs_once = {0, 1, 0}, .local_host = 2};
    Scheduler scheduler(shape, Limits{.batches = {kOne}});
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{2, 0});
    CHECK(scheduler.next_job(2).kind == NextJob::Kind::Wait);
    CHECK(run_ready(scheduler, 0) == std::vector<int>{0});
    scheduler.host_finished(0, HostStatus::Ok);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{1});
    CHECK(run_ready(scheduler, 1) == std::vector<int>{0});  // then waits for the local task
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{2});
    CHECK(run_ready(scheduler, 2) == std::vector<int>{1});
    scheduler.host_finished(2, HostStatus::Ok);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{1});
    CHECK(run_ready(scheduler, 1) == std::vector<int>{2});
  }

  TEST_CASE("early hosts respect forks, and give their slot back while they wait for their wave") {
    Scheduler scheduler(facts_and_deploy(), Limits{.forks = 1, .batches = {kOne}});
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Wait);  // slot freed
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{3});
    CHECK(run_ready(scheduler, 3) == std::vector<int>{0});
    scheduler.host_finished(3, HostStatus::Ok);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    CHECK_FALSE(scheduler.is_stuck());
  }
}

}  // namespace deployd::sched
