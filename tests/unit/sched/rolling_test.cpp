// SPDX-License-Identifier: MIT
// The scheduler's per-task rolling (issue 18): `policy.serial` and `policy.batches` on one task.
#include <doctest/doctest.h>

#include <algorithm>

#include "sched/scheduler.hpp"

namespace deployd::sched {
namespace {

using Hosts = std::vector<int>;

// `hosts` hosts that each run task 0 ("deploy") then task 1 ("restart", needing it); `restart`
// rolls as `rolling` says.
RunShape deploy_restart(int hosts, TaskRolling rolling) {
  RunShape shape{.needs = {{}, {0}}};
  shape.host_tasks.assign(static_cast<std::size_t>(hosts), {0, 1});
  shape.rolling = {TaskRolling{}, std::move(rolling)};
  return shape;
}

// Starts every startable host and asks each for its next job; returns the hosts told to run
// `task` (the others were told to wait or run something else, which is finished at once).
Hosts enter_all(Scheduler& scheduler, int task) {
  Hosts running;
  for (int host : scheduler.take_startable_hosts()) {
    for (NextJob next = scheduler.next_job(host); next.kind == NextJob::Kind::Run;
         next = scheduler.next_job(host)) {
      if (next.task == task) {
        running.push_back(host);
        break;
      }
      scheduler.job_finished(host, next.task, true);
    }
  }
  return running;
}

void finish(Scheduler& scheduler, int host, int task, bool ok = true) {
  scheduler.job_finished(host, task, ok);
  CHECK(scheduler.next_job(host).kind == NextJob::Kind::Finished);
  scheduler.host_finished(host, ok ? HostStatus::Ok : HostStatus::Failed);
}

}  // namespace

TEST_SUITE("sched") {
  TEST_CASE(
      "serial 1: one host inside the task at a time while the others finish the task before it") {
    Scheduler scheduler(deploy_restart(4, TaskRolling{.serial = Amount{1, false}}), Limits{});
    // Every host deploys at full width; one of them goes on to restart, the others wait.
    CHECK(enter_all(scheduler, 1) == Hosts{0});
    CHECK(scheduler.inside(1) == 1);
    // The waiting hosts gave their fork slots back: nothing is running but host 0.
    CHECK(scheduler.take_startable_hosts().empty());
    finish(scheduler, 0, 1);
    CHECK(enter_all(scheduler, 1) == Hosts{1});
    finish(scheduler, 1, 1);
    CHECK(enter_all(scheduler, 1) == Hosts{2});
    finish(scheduler, 2, 1);
    CHECK(enter_all(scheduler, 1) == Hosts{3});
    finish(scheduler, 3, 1);
    CHECK(scheduler.is_done());
  }

  TEST_CASE("serial as a percentage is taken of the task's hosts, at least one") {
    SUBCASE("50% of 4 hosts: 2 at once") {
      Scheduler scheduler(deploy_restart(4, TaskRolling{.serial = Amount{50, true}}), Limits{});
      CHECK(enter_all(scheduler, 1) == Hosts{0, 1});
      CHECK(scheduler.inside(1) == 2);
      finish(scheduler, 1, 1);
      CHECK(enter_all(scheduler, 1) == Hosts{2});
      CHECK(scheduler.inside(1) == 2);
    }
    SUBCASE("1% of 4 hosts: 1 at once") {
      Scheduler scheduler(deploy_restart(4, TaskRolling{.serial = Amount{1, true}}), Limits{});
      CHECK(enter_all(scheduler, 1) == Hosts{0});
    }
  }

  TEST_CASE("a host that fails or ends inside a serial task gives its place back") {
    Scheduler scheduler(deploy_restart(3, TaskRolling{.serial = Amount{1, false}}), Limits{});
    CHECK(enter_all(scheduler, 1) == Hosts{0});
    scheduler.host_finished(0, HostStatus::Unreachable);  // the connection dropped inside it
    CHECK(scheduler.inside(1) == 0);
    CHECK(enter_all(scheduler, 1) == Hosts{1});
    finish(scheduler, 1, 1, false);
    CHECK(scheduler.inside(1) == 0);
    CHECK(enter_all(scheduler, 1) == Hosts{2});
  }

  TEST_CASE("a job that will be skipped does not wait for a place in its serial task") {
    Scheduler scheduler(deploy_restart(2, TaskRolling{.serial = Amount{1, false}}), Limits{});
    Hosts started = scheduler.take_startable_hosts();
    REQUIRE(started == Hosts{0, 1});
    scheduler.job_finished(0, scheduler.next_job(0).task, true);
    REQUIRE(scheduler.next_job(0).task == 1);                      // host 0 is inside restart
    scheduler.job_finished(1, scheduler.next_job(1).task, false);  // host 1's deploy failed
    NextJob next = scheduler.next_job(1);
    CHECK(next.kind == NextJob::Kind::Finished);
    CHECK(next.skipped == std::vector<Skip>{{1, 0, NeedKind::PerHost}});
    CHECK(scheduler.inside(1) == 1);
  }

  TEST_CASE("a task's batches: its next wave starts it when the wave before has ended it") {
    Scheduler scheduler(
        deploy_restart(5, TaskRolling{.batches = {Amount{1, false}, Amount{2, false}}}), Limits{});
    CHECK(scheduler.task_wave(0, 1) == 0);
    CHECK(scheduler.task_wave(1, 1) == 1);
    CHECK(scheduler.task_wave(2, 1) == 1);
    CHECK(scheduler.task_wave(3, 1) == 2);
    CHECK(scheduler.task_wave(4, 1) == 2);
    CHECK(enter_all(scheduler, 1) == Hosts{0});
    finish(scheduler, 0, 1);
    CHECK(enter_all(scheduler, 1) == Hosts{1, 2});
    finish(scheduler, 1, 1);
    CHECK(enter_all(scheduler, 1).empty());  // host 2 of the same wave is still inside
    finish(scheduler, 2, 1, false);          // a failure ends the wave too (the budget decides)
    CHECK(enter_all(scheduler, 1) == Hosts{3, 4});
  }

  TEST_CASE("a failure beyond the task's budget in its first wave stops the later waves") {
    RunShape shape =
        deploy_restart(4, TaskRolling{.batches = {Amount{1, false}, Amount{100, true}}});
    shape.task_policies = {TaskFailurePolicy{},
                           TaskFailurePolicy{.max_failures = Amount{0, false}}};
    Scheduler scheduler(shape, Limits{});
    CHECK(enter_all(scheduler, 1) == Hosts{0});
    finish(scheduler, 0, 1, false);
    CHECK(scheduler.is_aborted());
    CHECK(enter_all(scheduler, 1).empty());
  }

  TEST_CASE("a task's waves follow effective waves, so none waits for a later plan wave") {
    // Plan waves of one host each. Task 0 runs on hosts 1 and 2; on host 2 it is needed early
    // (task 1 there is needed by host 0's task 2, in plan wave 0), so host 2 is the task's
    // first wave: in host order, it would wait for host 1, whose plan wave waits for host 0.
    RunShape shape{.needs = {{}, {0}, {1}}};
    shape.host_tasks = {{2}, {0}, {0, 1}};
    shape.rolling = {TaskRolling{.batches = {Amount{1, false}}}};
    Scheduler scheduler(shape, Limits{.batches = {Amount{1, false}}});
    CHECK(scheduler.task_wave(2, 0) == 0);
    CHECK(scheduler.task_wave(1, 0) == 1);
    CHECK(enter_all(scheduler, 0) == Hosts{2});
    scheduler.job_finished(2, 0, true);
    REQUIRE(scheduler.next_job(2).task == 1);
    finish(scheduler, 2, 1);
    CHECK(enter_all(scheduler, 2) == Hosts{0});
    finish(scheduler, 0, 2);
    CHECK(enter_all(scheduler, 0) == Hosts{1});
    finish(scheduler, 1, 0);
    CHECK(scheduler.is_done());
  }

  TEST_CASE("serial and the plan's forks: waiting hosts hold no fork slot") {
    // forks 2, restart serial 1: while host 0 restarts, host 1 waits for its place and the
    // remaining hosts still deploy two at a time (the rest of the plan at full width).
    Scheduler scheduler(deploy_restart(4, TaskRolling{.serial = Amount{1, false}}),
                        Limits{.forks = 2});
    Hosts started = scheduler.take_startable_hosts();
    REQUIRE(started == Hosts{0, 1});
    scheduler.job_finished(0, scheduler.next_job(0).task, true);
    scheduler.job_finished(1, scheduler.next_job(1).task, true);
    CHECK(scheduler.next_job(0).task == 1);
    CHECK(scheduler.next_job(1).kind == NextJob::Kind::Wait);
    CHECK(scheduler.take_startable_hosts() == Hosts{2});
  }
}

}  // namespace deployd::sched
