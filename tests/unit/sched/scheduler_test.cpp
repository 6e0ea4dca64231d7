// SPDX-License-Identifier: MIT
// The scheduler as a pure state machine: admission, waves, skips and the failure budget.
#include "sched/scheduler.hpp"

#include <doctest/doctest.h>

namespace deployd::sched {
namespace {

// `hosts` hosts that each run tasks 0..tasks-1, where task i needs task i-1.
RunShape chain(int hosts, int tasks) {
  RunShape shape;
  for (int t = 0; t < tasks; ++t) shape.needs.push_back(t == 0 ? std::vector<int>{} : std::vector<int>{t - 1});
  for (int h = 0; h < hosts; ++h) {
    std::vector<int> all;
    for (int t = 0; t < tasks; ++t) all.push_back(t);
    shape.host_tasks.push_back(all);
  }
  return shape;
}

// Runs every job of `host` to success and finishes it.
void complete(Scheduler& scheduler, int host) {
  for (NextJob next = scheduler.next_job(host); next.kind == NextJob::Kind::Run; next = scheduler.next_job(host))
    scheduler.job_finished(host, next.task, true);
  scheduler.host_finished(host, HostStatus::Ok);
}

}  // namespace

TEST_SUITE("sched") {
  TEST_CASE("no more than forks hosts run at once, and a finished host frees its slot") {
    Scheduler scheduler(chain(5, 1), Limits{.forks = 2});
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0, 1});
    CHECK(scheduler.take_startable_hosts().empty());
    complete(scheduler, 1);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{2});
    CHECK_FALSE(scheduler.is_done());
  }

  TEST_CASE("a host runs its tasks in dependency order and then finishes") {
    Scheduler scheduler(chain(1, 3), Limits{});
    REQUIRE(scheduler.take_startable_hosts() == std::vector<int>{0});
    for (int task = 0; task < 3; ++task) {
      NextJob next = scheduler.next_job(0);
      REQUIRE(next.kind == NextJob::Kind::Run);
      CHECK(next.task == task);
      scheduler.job_finished(0, task, true);
    }
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Finished);
    scheduler.host_finished(0, HostStatus::Ok);
    CHECK(scheduler.is_done());
  }

  TEST_CASE("a job whose need failed on its host is skipped, and an independent job still runs") {
    RunShape shape{.needs = {{}, {0}, {}}, .host_tasks = {{0, 1, 2}}};
    Scheduler scheduler(shape, Limits{});
    scheduler.take_startable_hosts();
    scheduler.job_finished(0, scheduler.next_job(0).task, false);
    NextJob next = scheduler.next_job(0);
    CHECK(next.skipped == std::vector<Skip>{{1, 0, NeedKind::PerHost}});
    CHECK(next.kind == NextJob::Kind::Run);
    CHECK(next.task == 2);
  }

  TEST_CASE("a need the host does not run waits for that task on all of its hosts") {
    // Issue 14, bug 2: it used to count as done at once.
    RunShape shape{.needs = {{}, {0}}, .host_tasks = {{0}, {1}}};
    Scheduler scheduler(shape, Limits{});
    scheduler.take_startable_hosts();
    CHECK(scheduler.next_job(1).kind == NextJob::Kind::Wait);
    scheduler.job_finished(0, scheduler.next_job(0).task, true);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{1});
    NextJob next = scheduler.next_job(1);
    CHECK(next.kind == NextJob::Kind::Run);
    CHECK(next.task == 1);
  }

  TEST_CASE("rolling waves start when the previous wave is done, and the last size repeats") {
    Scheduler scheduler(chain(6, 1), Limits{.batches = {Amount{1, false}, Amount{2, false}}});
    CHECK(scheduler.wave_count() == 4);  // 1, 2, 2, 1
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    CHECK(scheduler.take_startable_hosts().empty());
    complete(scheduler, 0);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{1, 2});
    complete(scheduler, 1);
    CHECK(scheduler.take_startable_hosts().empty());  // host 2 of this wave still runs
    complete(scheduler, 2);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{3, 4});
    CHECK(scheduler.current_wave() == 2);
  }

  TEST_CASE("percentage waves are taken of the targeted hosts") {
    Scheduler scheduler(chain(10, 1), Limits{.batches = {Amount{1, false}, Amount{50, true}}});
    CHECK(scheduler.take_startable_hosts().size() == 1);
    complete(scheduler, 0);
    CHECK(scheduler.take_startable_hosts().size() == 5);
  }

  TEST_CASE("one failure more than max_failures aborts, and hosts not started are reported") {
    Scheduler scheduler(chain(5, 1), Limits{.forks = 2, .max_failures = Amount{1, false}});
    scheduler.take_startable_hosts();
    scheduler.host_finished(0, HostStatus::Failed);
    CHECK_FALSE(scheduler.is_aborted());
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{2});
    scheduler.host_finished(1, HostStatus::Unreachable);
    CHECK(scheduler.is_aborted());
    CHECK(scheduler.take_startable_hosts().empty());
    CHECK(scheduler.next_job(2).kind == NextJob::Kind::Aborted);
    CHECK_FALSE(scheduler.is_done());  // host 2 is still running
    scheduler.host_finished(2, HostStatus::Aborted);
    CHECK(scheduler.is_done());
    CHECK(scheduler.take_never_started() == std::vector<int>{3, 4});
  }

  TEST_CASE("on_failure abort stops the run at the first failure") {
    Scheduler scheduler(chain(3, 1), Limits{.forks = 1, .on_failure = OnFailure::Abort});
    scheduler.take_startable_hosts();
    scheduler.host_finished(0, HostStatus::Failed);
    CHECK(scheduler.is_aborted());
    CHECK(scheduler.take_never_started() == std::vector<int>{1, 2});
  }

  TEST_CASE("the default budget tolerates every host failing") {
    Scheduler scheduler(chain(3, 1), Limits{});
    scheduler.take_startable_hosts();
    for (int host = 0; host < 3; ++host) scheduler.host_finished(host, HostStatus::Failed);
    CHECK_FALSE(scheduler.is_aborted());
    CHECK(scheduler.is_done());
  }

  TEST_CASE("a run with no hosts is done at once") {
    Scheduler scheduler(RunShape{}, Limits{});
    CHECK(scheduler.take_startable_hosts().empty());
    CHECK(scheduler.is_done());
  }

  TEST_CASE("a barrier task starts on any host only after its need is done on every host") {
    RunShape shape{.needs = {{}, {0}}, .host_tasks = {{0, 1}, {0, 1}}, .waits_for_all = {0, 1}};
    Scheduler scheduler(shape, Limits{});
    scheduler.take_startable_hosts();
    scheduler.job_finished(0, scheduler.next_job(0).task, true);
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Wait);
    CHECK(scheduler.take_startable_hosts().empty());  // host 1 has not deployed yet
    scheduler.job_finished(1, scheduler.next_job(1).task, true);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});  // host 0 resumes
    CHECK(scheduler.next_job(0).task == 1);
    CHECK(scheduler.next_job(1).task == 1);
  }

  TEST_CASE("a parked host gives its fork slot back, so a barrier never deadlocks on forks") {
    RunShape shape{.needs = {{}, {0}}, .host_tasks = {{0, 1}, {0, 1}, {0, 1}}, .waits_for_all = {0, 1}};
    Scheduler scheduler(shape, Limits{.forks = 1});
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    scheduler.job_finished(0, 0, true);
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Wait);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{1});
    scheduler.job_finished(1, 0, true);
    CHECK(scheduler.next_job(1).kind == NextJob::Kind::Wait);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{2});
    scheduler.job_finished(2, 0, true);
    NextJob next = scheduler.next_job(2);  // the last host releases the barrier for itself
    CHECK(next.kind == NextJob::Kind::Run);
    scheduler.job_finished(2, 1, true);
    scheduler.host_finished(2, HostStatus::Ok);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});  // one slot: one resumes
    CHECK_FALSE(scheduler.is_stuck());
  }

  TEST_CASE("a local task starts first, takes no fork slot, and remote tasks that need it wait") {
    // Task 0 is local (pack), task 1 is remote and needs it (deploy).
    RunShape shape{.needs = {{}, {0}}, .host_tasks = {{1}, {1}, {0}}, .waits_for_all = {1, 0},
                   .runs_once = {1, 0}, .local_host = 2};
    Scheduler scheduler(shape, Limits{.forks = 2});
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{2, 0, 1});
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Wait);
    CHECK(scheduler.next_job(2).task == 0);
    scheduler.job_finished(2, 0, true);
    scheduler.host_finished(2, HostStatus::Ok);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    CHECK(scheduler.next_job(0).task == 1);
  }

  TEST_CASE("when a local task that others need fails, they are skipped on every host") {
    RunShape shape{.needs = {{}, {0}}, .host_tasks = {{1}, {0}}, .waits_for_all = {1, 0},
                   .runs_once = {1, 0}, .local_host = 1};
    Scheduler scheduler(shape, Limits{});
    scheduler.take_startable_hosts();
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Wait);
    scheduler.job_finished(1, 0, false);
    scheduler.host_finished(1, HostStatus::Failed);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    NextJob next = scheduler.next_job(0);
    CHECK(next.skipped == std::vector<Skip>{{1, 0, NeedKind::AllHosts}});
    CHECK(next.kind == NextJob::Kind::Finished);
  }

  TEST_CASE("a host that stops early counts its remaining jobs as done for those who wait") {
    RunShape shape{.needs = {{}, {0}}, .host_tasks = {{0, 1}, {0, 1}}, .waits_for_all = {0, 1}};
    Scheduler scheduler(shape, Limits{});
    scheduler.take_startable_hosts();
    scheduler.job_finished(0, 0, true);
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Wait);
    CHECK(scheduler.remaining_jobs(1) == std::vector<int>{0, 1});
    scheduler.host_finished(1, HostStatus::Unreachable);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    CHECK(scheduler.next_job(0).task == 1);
  }

  TEST_CASE("with rolling waves a barrier waits only for its own and earlier waves") {
    RunShape shape{.needs = {{}, {0}}, .host_tasks = {{0, 1}, {0, 1}}, .waits_for_all = {0, 1}};
    Scheduler scheduler(shape, Limits{.batches = {Amount{1, false}}});
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    scheduler.job_finished(0, 0, true);
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Run);  // host 1 is in the next wave
  }

  TEST_CASE("a local task needing every wave, needed by the first wave, runs the later wave's need early") {
    // 0: remote, 1: local needs 0, 2: remote needs 1. This used to be stuck (issue 14, bug 1):
    // host 1 (wave 2) now runs task 0 in wave 1, and task 2 in its own wave.
    RunShape shape{.needs = {{}, {0}, {1}}, .host_tasks = {{0, 2}, {0, 2}, {1}},
                   .waits_for_all = {0, 1, 0}, .runs_once = {0, 1, 0}, .local_host = 2};
    Scheduler scheduler(shape, Limits{.batches = {Amount{1, false}}});
    CHECK(scheduler.effective_wave(1, 0) == 0);
    CHECK(scheduler.effective_wave(1, 2) == 1);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{2, 0, 1});
    CHECK(scheduler.next_job(2).kind == NextJob::Kind::Wait);
    scheduler.job_finished(0, 0, true);
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Wait);
    scheduler.job_finished(1, scheduler.next_job(1).task, true);
    CHECK(scheduler.next_job(1).kind == NextJob::Kind::Wait);  // task 2 waits for its wave
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{2});
    scheduler.job_finished(2, scheduler.next_job(2).task, true);
    scheduler.host_finished(2, HostStatus::Ok);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    complete(scheduler, 0);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{1});  // its wave has come
    CHECK(scheduler.current_wave() == 1);
    complete(scheduler, 1);
    CHECK(scheduler.is_done());
    CHECK_FALSE(scheduler.is_stuck());
  }

  TEST_CASE("an abort wakes parked hosts so that they stop") {
    RunShape shape{.needs = {{}, {0}}, .host_tasks = {{0, 1}, {0, 1}, {0, 1}}, .waits_for_all = {0, 1}};
    Scheduler scheduler(shape, Limits{.on_failure = OnFailure::Abort});
    scheduler.take_startable_hosts();
    scheduler.job_finished(0, 0, true);
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Wait);
    scheduler.host_finished(1, HostStatus::Failed);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Aborted);
  }

  TEST_CASE(
      "a handler waits for its notifiers on its host, and their failure elsewhere does not skip "
      "it") {
    // Task 0 notifies task 1 (RunShape::after). Host 1 does not run task 0: it does not wait.
    RunShape shape{.needs = {{}, {}}, .host_tasks = {{0, 1}, {1}}, .after = {{}, {0}}};
    Scheduler scheduler(shape, Limits{});
    REQUIRE(scheduler.take_startable_hosts() == std::vector<int>{0, 1});
    NextJob other = scheduler.next_job(1);
    CHECK(other.kind == NextJob::Kind::Run);
    CHECK(other.task == 1);
    NextJob first = scheduler.next_job(0);
    REQUIRE(first.task == 0);
    scheduler.job_finished(0, 0, true);
    NextJob handler = scheduler.next_job(0);
    CHECK(handler.kind == NextJob::Kind::Run);
    CHECK(handler.task == 1);
    CHECK(handler.skipped.empty());
  }

  TEST_CASE("a barrier handler waits for its notifiers on every host of the wave, ordering only") {
    RunShape shape{.needs = {{}, {}},
                   .host_tasks = {{0, 1}, {0, 1}},
                   .after = {{}, {0}},
                   .waits_for_all = {0, 1}};
    Scheduler scheduler(shape, Limits{});
    scheduler.take_startable_hosts();
    scheduler.job_finished(0, scheduler.next_job(0).task, true);
    CHECK(scheduler.next_job(0).kind == NextJob::Kind::Wait);
    scheduler.job_finished(1, scheduler.next_job(1).task, false);  // a notifier failed on host 1
    scheduler.host_finished(1, HostStatus::Failed);
    CHECK(scheduler.take_startable_hosts() == std::vector<int>{0});
    NextJob handler = scheduler.next_job(0);
    CHECK(handler.kind == NextJob::Kind::Run);
    CHECK(handler.skipped.empty());
  }
}

}  // namespace deployd::sched
