// SPDX-License-Identifier: MIT
// Failure budgets: the plan's and each task's own, checked at every host failure (issue 5).
#include "sched/failure_budget.hpp"

#include <doctest/doctest.h>

#include "sched/scheduler.hpp"

namespace deployd::sched {
namespace {

// `hosts` hosts that each run the independent tasks 0..tasks-1.
RunShape independent(int hosts, int tasks) {
  RunShape shape;
  shape.needs.resize(static_cast<std::size_t>(tasks));
  std::vector<int> all;
  for (int t = 0; t < tasks; ++t) all.push_back(t);
  shape.host_tasks.assign(static_cast<std::size_t>(hosts), all);
  return shape;
}

// The host runs its next job, which fails; then the host ends failed, as the engine does.
void fail_next_job(Scheduler& scheduler, int host) {
  NextJob next = scheduler.next_job(host);
  REQUIRE(next.kind == NextJob::Kind::Run);
  scheduler.job_finished(host, next.task, false);
}

void fail_host(Scheduler& scheduler, int host) {
  fail_next_job(scheduler, host);
  scheduler.host_finished(host, HostStatus::Failed);
}

// Runs `host`'s next job to success.
void pass_next_job(Scheduler& scheduler, int host) {
  NextJob next = scheduler.next_job(host);
  REQUIRE(next.kind == NextJob::Kind::Run);
  scheduler.job_finished(host, next.task, true);
}

std::vector<int> range(int from, int to) {
  std::vector<int> hosts;
  for (int h = from; h < to; ++h) hosts.push_back(h);
  return hosts;
}

}  // namespace

TEST_SUITE("sched") {
  TEST_CASE("a budget by count tolerates that many failures and aborts at one more") {
    FailureBudget budget(Amount{2, false}, OnFailure::StopHost, 10);
    CHECK(budget.allowed() == 2);
    CHECK_FALSE(budget.count_failure());
    CHECK_FALSE(budget.count_failure());
    CHECK(budget.count_failure());
    CHECK(budget.failures() == 3);
  }

  TEST_CASE("a budget by percentage is taken of the hosts it covers, rounded up") {
    CHECK(FailureBudget(Amount{10, true}, OnFailure::StopHost, 20).allowed() == 2);
    CHECK(FailureBudget(Amount{25, true}, OnFailure::StopHost, 5).allowed() == 2);
    CHECK(FailureBudget(Amount{100, true}, OnFailure::StopHost, 3).allowed() == 3);
    CHECK(FailureBudget(Amount{0, true}, OnFailure::StopHost, 3).allowed() == 0);
  }

  TEST_CASE("on_failure abort aborts at the first failure, whatever the count") {
    FailureBudget budget(Amount{100, true}, OnFailure::Abort, 10);
    CHECK(budget.count_failure());
  }

  TEST_CASE("the plan's budget is checked at every failure, not at the end of a wave") {
    Scheduler scheduler(independent(8, 1),
                        Limits{.batches = {Amount{4, false}}, .max_failures = Amount{1, false}});
    REQUIRE(scheduler.take_startable_hosts() == range(0, 4));
    fail_host(scheduler, 0);
    CHECK_FALSE(scheduler.is_aborted());
    fail_next_job(scheduler, 1);  // the second failure, while hosts 2 and 3 still run
    CHECK(scheduler.is_aborted());
    CHECK(scheduler.next_job(2).kind == NextJob::Kind::Aborted);
    CHECK(scheduler.take_startable_hosts().empty());
    for (int host : {1, 2, 3})
      scheduler.host_finished(host, host == 1 ? HostStatus::Failed : HostStatus::Aborted);
    CHECK(scheduler.is_done());
    CHECK(scheduler.take_never_started() == range(4, 8));
  }

  TEST_CASE("a failed job and then its host's end count as one failure") {
    Scheduler scheduler(independent(3, 1), Limits{.max_failures = Amount{1, false}});
    scheduler.take_startable_hosts();
    fail_host(scheduler, 0);
    CHECK_FALSE(scheduler.is_aborted());
    fail_host(scheduler, 1);
    CHECK(scheduler.is_aborted());
  }

  TEST_CASE("waves [1, 10%, 100%] with a failing canary: no other host starts, the run aborts") {
    RunShape shape = independent(20, 1);
    Limits limits{.batches = {Amount{1, false}, Amount{10, true}, Amount{100, true}}};
    SUBCASE("the task's own on_failure abort") {
      shape.task_policies = {TaskFailurePolicy{.on_failure = OnFailure::Abort}};
    }
    SUBCASE("the task's own max_failures 0") {
      shape.task_policies = {TaskFailurePolicy{.max_failures = Amount{0, false}}};
    }
    SUBCASE("the plan's max_failures 0") { limits.max_failures = Amount{0, false}; }
    Scheduler scheduler(shape, limits);
    REQUIRE(scheduler.take_startable_hosts() == std::vector<int>{0});
    fail_host(scheduler, 0);
    CHECK(scheduler.is_aborted());
    CHECK(scheduler.take_startable_hosts().empty());
    CHECK(scheduler.is_done());
    CHECK(scheduler.take_never_started() == range(1, 20));
  }

  TEST_CASE("a task's max_failures 2 with 3 failing hosts aborts at the third failure") {
    RunShape shape = independent(6, 1);
    shape.task_policies = {TaskFailurePolicy{.max_failures = Amount{2, false}}};
    Scheduler scheduler(shape, Limits{});
    REQUIRE(scheduler.take_startable_hosts() == range(0, 6));
    fail_host(scheduler, 0);
    fail_host(scheduler, 1);
    CHECK_FALSE(scheduler.is_aborted());
    fail_next_job(scheduler, 2);
    CHECK(scheduler.is_aborted());
    CHECK(scheduler.next_job(3).kind == NextJob::Kind::Aborted);
  }

  TEST_CASE("a task's percentage is taken of the hosts that task targets") {
    // Task 0 on hosts 0-3 only, with 25%: 1 of its 4 hosts tolerated (25% of all 10 would be 3).
    RunShape shape = independent(10, 0);
    shape.needs = {{}, {}};
    for (int h = 0; h < 10; ++h)
      shape.host_tasks[static_cast<std::size_t>(h)] =
          h < 4 ? std::vector<int>{0, 1} : std::vector<int>{1};
    shape.task_policies = {TaskFailurePolicy{.max_failures = Amount{25, true}}};
    Scheduler scheduler(shape, Limits{});
    scheduler.take_startable_hosts();
    fail_host(scheduler, 0);
    CHECK_FALSE(scheduler.is_aborted());
    fail_host(scheduler, 1);
    CHECK(scheduler.is_aborted());
  }

  TEST_CASE("a failure is counted against the budget of the task it happened in") {
    // Task 0: the plan's budget (1 tolerated). Task 1: its own (3 tolerated).
    RunShape shape = independent(8, 2);
    shape.task_policies = {TaskFailurePolicy{},
                           TaskFailurePolicy{.max_failures = Amount{3, false}}};
    Scheduler scheduler(shape, Limits{.max_failures = Amount{1, false}});
    scheduler.take_startable_hosts();
    for (int host : {0, 1, 2}) {  // three failures in task 1: within its own budget
      pass_next_job(scheduler, host);
      fail_host(scheduler, host);
    }
    CHECK_FALSE(scheduler.is_aborted());
    scheduler.host_finished(3, HostStatus::Unreachable);  // the plan's budget: 1 of 1
    CHECK_FALSE(scheduler.is_aborted());
    fail_host(scheduler, 4);  // task 0, the plan's budget: 2 of 1
    CHECK(scheduler.is_aborted());
  }

  TEST_CASE("a task's on_failure overrides the plan's for failures in that task only") {
    // The plan aborts at the first failure; task 1 lets its failing hosts stop alone.
    RunShape shape = independent(4, 2);
    shape.task_policies = {TaskFailurePolicy{},
                           TaskFailurePolicy{.on_failure = OnFailure::StopHost}};
    Scheduler scheduler(shape, Limits{.on_failure = OnFailure::Abort});
    scheduler.take_startable_hosts();
    pass_next_job(scheduler, 0);
    fail_host(scheduler, 0);
    pass_next_job(scheduler, 1);
    fail_host(scheduler, 1);
    CHECK_FALSE(scheduler.is_aborted());
    fail_host(scheduler, 2);  // task 0: the plan's abort
    CHECK(scheduler.is_aborted());
  }

  TEST_CASE("a task's own abort stops the run while the plan tolerates every failure") {
    RunShape shape = independent(4, 2);
    shape.task_policies = {TaskFailurePolicy{}, TaskFailurePolicy{.on_failure = OnFailure::Abort}};
    Scheduler scheduler(shape, Limits{});
    scheduler.take_startable_hosts();
    fail_host(scheduler, 0);  // task 0: the plan's budget tolerates it
    fail_host(scheduler, 1);
    CHECK_FALSE(scheduler.is_aborted());
    pass_next_job(scheduler, 2);
    fail_next_job(scheduler, 2);  // task 1
    CHECK(scheduler.is_aborted());
  }
}

}  // namespace deployd::sched
