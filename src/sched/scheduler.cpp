// SPDX-License-Identifier: MIT
// The run's state machine (see scheduler.hpp).
#include "sched/scheduler.hpp"

#include <algorithm>
#include <cassert>

namespace deployd::sched {
namespace {

// plan-format.md, batches: sizes are counts or percentages of the targeted hosts, and the last
// size repeats until every host has a wave.
std::vector<std::size_t> wave_ends(const std::vector<Amount>& batches, std::size_t hosts) {
  std::vector<std::size_t> ends;
  std::size_t end = 0;
  for (std::size_t i = 0; end < hosts; ++i) {
    const Amount& size = batches.empty() ? Amount{100, true} : batches[std::min(i, batches.size() - 1)];
    end = std::min(hosts, end + static_cast<std::size_t>(std::max(1, size.of(static_cast<int>(hosts)))));
    ends.push_back(end);
  }
  return ends;
}

}  // namespace

Scheduler::Scheduler(RunShape shape, Limits limits)
    : shape_(std::move(shape)),
      limits_(std::move(limits)),
      hosts_(shape_.host_tasks.size(), HostState::Waiting),
      next_task_(shape_.host_tasks.size(), 0),
      task_ok_(shape_.host_tasks.size(), std::vector<char>(shape_.needs.size(), 0)),
      wave_ends_(wave_ends(limits_.batches, shape_.host_tasks.size())) {
  int total = static_cast<int>(hosts_.size());
  // max_failures is the number tolerated; one more aborts. 100% tolerates every host.
  allowed_failures_ = limits_.max_failures.is_percent && limits_.max_failures.value >= 100
                          ? total
                          : limits_.max_failures.of(total);
  if (limits_.max_failures.is_percent && limits_.max_failures.value == 0) allowed_failures_ = 0;
}

bool Scheduler::wave_is_finished() const {
  std::size_t end = wave_ends_[static_cast<std::size_t>(wave_)];
  return next_host_ == end && running_ == 0;
}

std::vector<int> Scheduler::take_startable_hosts() {
  std::vector<int> started;
  if (aborted_ || wave_ends_.empty()) return started;
  if (wave_is_finished() && wave_ + 1 < wave_count()) ++wave_;
  std::size_t end = wave_ends_[static_cast<std::size_t>(wave_)];
  while (next_host_ < end && running_ < limits_.forks) {
    hosts_[next_host_] = HostState::Running;
    started.push_back(static_cast<int>(next_host_));
    ++next_host_;
    ++running_;
  }
  return started;
}

NextJob Scheduler::next_job(int host) {
  assert(hosts_[host] == HostState::Running);
  NextJob next;
  const std::vector<int>& tasks = shape_.host_tasks[host];
  std::size_t& position = next_task_[host];
  while (position < tasks.size()) {
    if (aborted_) {
      next.kind = NextJob::Kind::Aborted;
      return next;
    }
    int task = tasks[position];
    // plan-format.md: a task whose need failed on a host is skipped on that host. A need the
    // host does not run at all (another target set) does not hold it back.
    bool needs_ok = true;
    for (int need : shape_.needs[task]) {
      bool runs_need = std::find(tasks.begin(), tasks.end(), need) != tasks.end();
      if (runs_need && !task_ok_[host][need]) needs_ok = false;
    }
    if (needs_ok) {
      next.kind = NextJob::Kind::Run;
      next.task = task;
      return next;
    }
    next.skipped.push_back(task);
    ++position;
  }
  next.kind = NextJob::Kind::Finished;
  return next;
}

void Scheduler::job_finished(int host, int task, bool ok) {
  assert(shape_.host_tasks[host][next_task_[host]] == task);
  task_ok_[host][task] = ok ? 1 : 0;
  ++next_task_[host];
}

void Scheduler::host_finished(int host, HostStatus status) {
  assert(hosts_[host] == HostState::Running);
  hosts_[host] = HostState::Finished;
  --running_;
  if (status != HostStatus::Failed && status != HostStatus::Unreachable) return;
  ++failures_;
  if (limits_.on_failure == OnFailure::Abort || failures_ > allowed_failures_) abort();
}

bool Scheduler::is_done() const {
  if (running_ > 0) return false;
  return aborted_ || next_host_ == hosts_.size();
}

std::vector<int> Scheduler::take_never_started() {
  std::vector<int> never;
  if (!aborted_) return never;
  for (; next_host_ < hosts_.size(); ++next_host_) {
    hosts_[next_host_] = HostState::Finished;
    never.push_back(static_cast<int>(next_host_));
  }
  return never;
}

}  // namespace deployd::sched
