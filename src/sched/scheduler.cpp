// SPDX-License-Identifier: MIT
// The run's state machine (see scheduler.hpp).
#include "sched/scheduler.hpp"

#include <algorithm>
#include <cassert>

namespace deployd::sched {

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

Scheduler::Scheduler(RunShape shape, Limits limits)
    : shape_(std::move(shape)),
      limits_(std::move(limits)),
      plan_budget_(limits_.max_failures, limits_.on_failure,
                   static_cast<int>(shape_.host_tasks.size()) - (shape_.local_host ? 1 : 0)) {
  std::size_t hosts = shape_.host_tasks.size();
  std::size_t tasks = shape_.needs.size();
  assert(!shape_.local_host || *shape_.local_host == static_cast<int>(hosts) - 1);
  shape_.waits_for_all.resize(tasks, 0);
  shape_.runs_once.resize(tasks, 0);
  shape_.after.resize(tasks);
  hosts_.assign(hosts, HostState::Waiting);
  next_task_.assign(hosts, 0);
  task_ok_.assign(hosts, std::vector<char>(tasks, 0));
  runs_.assign(hosts * tasks, 0);
  for (std::size_t h = 0; h < hosts; ++h)
    for (int task : shape_.host_tasks[h]) runs_[job(static_cast<int>(h), task)] = 1;
  remote_hosts_ = hosts - (shape_.local_host ? 1 : 0);
  wave_ends_ = sched::wave_ends(limits_.batches, remote_hosts_);
  unfinished_in_wave_.assign(wave_ends_.size(), 0);
  // One bucket per wave, and a last one for the local host.
  pending_.assign(tasks, std::vector<int>(wave_ends_.size() + 1, 0));
  failed_hosts_.assign(tasks, {});
  for (std::size_t h = 0; h < hosts; ++h) {
    int host = static_cast<int>(h);
    if (!is_local(host)) ++unfinished_in_wave_[static_cast<std::size_t>(wave_of(host))];
    for (int task : shape_.host_tasks[h]) ++pending_[static_cast<std::size_t>(task)][bucket(host)];
  }
  compute_effective_waves();
  failure_counted_.assign(hosts, 0);
  make_task_budgets();
  make_task_limits();
}

// plan-format.md, needs: a need on a local or run_once task, or on a task this host does not
// run, waits for every host of that task; barrier and run_once tasks wait for the hosts of
// their wave; other needs are per host.
NeedKind Scheduler::need_kind(int host, int task, int need) const {
  if (shape_.runs_once[static_cast<std::size_t>(need)] || !runs(host, need)) return NeedKind::AllHosts;
  return shape_.waits_for_all[static_cast<std::size_t>(task)] ? NeedKind::Barrier : NeedKind::PerHost;
}

int Scheduler::effective_wave(int host, int task) const {
  return effective_[job(host, task)];
}

// A job's effective wave is the earliest wave of the jobs that wait for it, or its host's
// own: what an earlier wave waits for on every host runs in that wave (issue 14, bug 1).
// Tasks are in dependency order, so walking them backwards settles every dependent first.
// Each host then runs its jobs by effective wave; this keeps dependency order, since a need's
// effective wave is never later than its dependent's. Linear in hosts x needs.
void Scheduler::compute_effective_waves() {
  const std::size_t hosts = shape_.host_tasks.size();
  const std::size_t tasks = shape_.needs.size();
  const int waves = wave_count();
  effective_.assign(hosts * tasks, 0);
  for (std::size_t h = 0; h < hosts; ++h)
    for (int task : shape_.host_tasks[h]) effective_[job(static_cast<int>(h), task)] = wave_of(static_cast<int>(h));
  for (std::size_t t = tasks; waves > 1 && t-- > 0;) {  // one wave: every job is due in it
    const int task = static_cast<int>(t);
    // D16: a notifier is waited for as a need (per host, or its wave's for a barrier
    // handler), but only on the hosts that run it: it is pulled earlier the same way.
    std::vector<std::pair<int, bool>> waits;  // (task waited for, only where it runs)
    for (int need : shape_.needs[t]) waits.emplace_back(need, false);
    for (int before : shape_.after[t]) waits.emplace_back(before, true);
    for (const auto& [need, only_where_it_runs] : waits) {
      assert(need < task && "tasks come in dependency order");
      int all_hosts = waves;
      std::vector<int> barrier(static_cast<std::size_t>(waves) + 1, waves);  // per wave of the waiting host
      for (std::size_t h = 0; h < hosts; ++h) {
        const int host = static_cast<int>(h);
        if (!runs(host, task) || (only_where_it_runs && !runs(host, need))) continue;
        const int mine = effective_[job(host, task)];
        int& wave = barrier[static_cast<std::size_t>(wave_of(host))];
        switch (need_kind(host, task, need)) {
          case NeedKind::PerHost:
            effective_[job(host, need)] = std::min(effective_[job(host, need)], mine);
            break;
          case NeedKind::Barrier:
            wave = std::min(wave, mine);
            break;
          case NeedKind::AllHosts:
            all_hosts = std::min(all_hosts, mine);
            break;
        }
      }
      // A barrier in wave w waits for the need in waves up to w: the earliest from w on.
      for (std::size_t w = barrier.size() - 1; w-- > 0;) barrier[w] = std::min(barrier[w], barrier[w + 1]);
      for (std::size_t x = 0; x < hosts; ++x) {
        const int host = static_cast<int>(x);
        if (!runs(host, need)) continue;
        int& wave = effective_[job(host, need)];
        wave = std::min({wave, all_hosts, barrier[static_cast<std::size_t>(wave_of(host))]});
      }
    }
  }
  starts_.assign(static_cast<std::size_t>(std::max(waves, 1)), {});
  started_in_.assign(starts_.size(), 0);
  for (std::size_t h = 0; h < hosts; ++h) {
    const int host = static_cast<int>(h);
    std::vector<int>& mine = shape_.host_tasks[h];
    auto earlier = [&](int a, int b) { return effective_[job(host, a)] < effective_[job(host, b)]; };
    if (!std::is_sorted(mine.begin(), mine.end(), earlier)) std::stable_sort(mine.begin(), mine.end(), earlier);
    if (is_local(host)) continue;
    const int first = mine.empty() ? wave_of(host) : effective_[job(host, mine.front())];
    starts_[static_cast<std::size_t>(first)].push_back(host);
  }
}

// plan-format.md, Policy: a task's `policy` overrides the plan's for that task; its percentage
// is taken of the hosts that task targets.
void Scheduler::make_task_budgets() {
  std::size_t tasks = shape_.needs.size();
  std::vector<int> targeted(tasks, 0);
  for (std::size_t h = 0; h < shape_.host_tasks.size(); ++h)
    if (!is_local(static_cast<int>(h)))
      for (int task : shape_.host_tasks[h]) ++targeted[static_cast<std::size_t>(task)];
  task_budgets_.resize(tasks);
  for (std::size_t t = 0; t < tasks && t < shape_.task_policies.size(); ++t) {
    const TaskFailurePolicy& policy = shape_.task_policies[t];
    if (!policy.overrides()) continue;
    task_budgets_[t].emplace(policy.max_failures.value_or(limits_.max_failures),
                             policy.on_failure.value_or(limits_.on_failure), targeted[t]);
  }
}

// Issue 18: a task's `serial` and `batches` are taken of the hosts that run it in this run
// (after --limit). Its waves list those hosts by effective wave, then host order, so that no
// task wave waits for a host whose plan wave cannot start yet (docs/needs-rules.md, D12).
void Scheduler::make_task_limits() {
  const std::size_t tasks = shape_.needs.size();
  task_limits_.assign(tasks, {});
  inside_.assign(shape_.host_tasks.size(), -1);
  for (std::size_t t = 0; t < tasks && t < shape_.rolling.size(); ++t) {
    const TaskRolling& rolling = shape_.rolling[t];
    if (!rolling.limits()) continue;
    const int task = static_cast<int>(t);
    std::vector<int> hosts;
    for (std::size_t h = 0; h < shape_.host_tasks.size(); ++h)
      if (runs(static_cast<int>(h), task)) hosts.push_back(static_cast<int>(h));
    const int count = static_cast<int>(hosts.size());
    if (rolling.serial) task_limits_[t].serial = std::max(1, rolling.serial->of(count));
    if (rolling.batches.empty()) continue;
    std::stable_sort(hosts.begin(), hosts.end(), [&](int a, int b) {
      return effective_[job(a, task)] < effective_[job(b, task)];
    });
    if (task_wave_.empty()) task_wave_.assign(effective_.size(), 0);
    const std::vector<std::size_t> ends = sched::wave_ends(rolling.batches, hosts.size());
    task_limits_[t].pending.assign(ends.size(), 0);
    std::size_t wave = 0;
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      while (i >= ends[wave]) ++wave;
      task_wave_[job(hosts[i], task)] = static_cast<int>(wave);
      ++task_limits_[t].pending[wave];
    }
  }
}

int Scheduler::task_wave(int host, int task) const {
  return task_wave_.empty() ? 0 : task_wave_[job(host, task)];
}

int Scheduler::inside(int task) const {
  return task_limits_[static_cast<std::size_t>(task)].inside;
}

bool Scheduler::rolling_allows(int host, int task) const {
  const TaskLimit& limit = task_limits_[static_cast<std::size_t>(task)];
  if (limit.serial > 0 && limit.inside >= limit.serial) return false;
  const int wave = task_wave(host, task);
  for (int w = 0; w < wave; ++w)
    if (limit.pending[static_cast<std::size_t>(w)] > 0) return false;
  return true;
}

void Scheduler::enter(int host, int task) {
  TaskLimit& limit = task_limits_[static_cast<std::size_t>(task)];
  if (limit.serial == 0 || inside_[static_cast<std::size_t>(host)] == task) return;
  ++limit.inside;
  inside_[static_cast<std::size_t>(host)] = task;
}

// A host leaves its limited task when the job ends, or when the host ends inside it.
void Scheduler::leave(int host) {
  int& task = inside_[static_cast<std::size_t>(host)];
  if (task < 0) return;
  --task_limits_[static_cast<std::size_t>(task)].inside;
  task = -1;
  ++settled_generation_;  // a host parked for the slot may go on
}

int Scheduler::wave_of(int host) const {
  if (is_local(host)) return wave_count();
  auto end = std::upper_bound(wave_ends_.begin(), wave_ends_.end(), static_cast<std::size_t>(host));
  return static_cast<int>(end - wave_ends_.begin());
}

// A barrier waits only for hosts of its own and earlier waves (and for the local host).
bool Scheduler::is_settled(int task, int up_to_wave) const {
  const std::vector<int>& pending = pending_[static_cast<std::size_t>(task)];
  for (int w = 0; w < up_to_wave && w < wave_count(); ++w)
    if (pending[static_cast<std::size_t>(w)] > 0) return false;
  if (up_to_wave < wave_count() && pending[static_cast<std::size_t>(up_to_wave)] > 0) return false;
  return pending.back() == 0;
}

bool Scheduler::is_settled_everywhere(int task) const {
  const std::vector<int>& pending = pending_[static_cast<std::size_t>(task)];
  return std::all_of(pending.begin(), pending.end(), [](int left) { return left == 0; });
}

// Whether `need` lets `host` run `task` now; sets `skip` (the first need found) when it never
// will: plan-format.md, a task is skipped where a need it waits for did not succeed.
bool Scheduler::need_allows(int host, int task, int need, std::optional<Skip>& skip) const {
  const NeedKind kind = need_kind(host, task, need);
  bool failed = false;
  switch (kind) {
    case NeedKind::PerHost:  // earlier in this host's order: it has ended
      failed = !task_ok_[static_cast<std::size_t>(host)][static_cast<std::size_t>(need)];
      break;
    case NeedKind::Barrier:
      if (!is_settled(need, wave_of(host))) return false;
      failed = !task_ok_[static_cast<std::size_t>(host)][static_cast<std::size_t>(need)];
      break;
    case NeedKind::AllHosts:
      if (!is_settled_everywhere(need)) return false;
      failed = !failed_hosts_[static_cast<std::size_t>(need)].empty();
      break;
  }
  if (failed && !skip) skip = Skip{task, need, kind};
  return true;
}

NextJob Scheduler::next_job(int host) {
  assert(hosts_[static_cast<std::size_t>(host)] == HostState::Running);
  NextJob next;
  const std::vector<int>& tasks = shape_.host_tasks[static_cast<std::size_t>(host)];
  std::size_t& position = next_task_[static_cast<std::size_t>(host)];
  for (; position < tasks.size(); ++position) {
    if (aborted_) {
      next.kind = NextJob::Kind::Aborted;
      return next;
    }
    int task = tasks[position];
    // A job of a later wave waits for its wave, even on a host admitted early for others.
    bool must_wait = !is_local(host) && effective_wave(host, task) > wave_;
    std::optional<Skip> skip;
    for (int need : shape_.needs[static_cast<std::size_t>(task)]) must_wait |= !need_allows(host, task, need, skip);
    must_wait |= !after_allows(host, task);
    // A job that will be skipped does not wait for a place in its task; a host resumed for
    // its place holds it already.
    const bool is_inside = inside_[static_cast<std::size_t>(host)] == task;
    if (must_wait || (!skip && !is_inside && !rolling_allows(host, task))) {
      if (is_inside) leave(host);
      park(host);
      next.kind = NextJob::Kind::Wait;
      return next;
    }
    if (!skip) {
      if (!is_inside) enter(host, task);
      next.kind = NextJob::Kind::Run;
      next.task = task;
      return next;
    }
    if (is_inside) leave(host);
    next.skipped.push_back(*skip);
    count_done(host, task, false);
  }
  next.kind = NextJob::Kind::Finished;
  return next;
}

void Scheduler::park(int host) {
  hosts_[static_cast<std::size_t>(host)] = HostState::Parked;
  parked_.push_back(host);
  if (!is_local(host)) --running_;  // waiting is not being worked on: the slot goes to others
}

void Scheduler::job_finished(int host, int task, bool ok) {
  std::size_t& position = next_task_[static_cast<std::size_t>(host)];
  assert(shape_.host_tasks[static_cast<std::size_t>(host)][position] == task);
  task_ok_[static_cast<std::size_t>(host)][static_cast<std::size_t>(task)] = ok ? 1 : 0;
  leave(host);
  count_done(host, task, ok);
  ++position;
  if (!ok) count_failure(host, task);
}

// Each failed host is counted once, as soon as it is known (issue 5: budgets are checked at
// every host failure, not at the end of a wave), against the budget of the task it failed in
// if that task has one, else the plan's. The controller's failures count against no budget:
// a failed local task fails the run by itself.
void Scheduler::count_failure(int host, int task) {
  char& counted = failure_counted_[static_cast<std::size_t>(host)];
  if (counted || is_local(host)) return;
  counted = 1;
  FailureBudget* budget = &plan_budget_;
  if (task >= 0 && task_budgets_[static_cast<std::size_t>(task)])
    budget = &*task_budgets_[static_cast<std::size_t>(task)];
  if (budget->count_failure()) aborted_ = true;
}

void Scheduler::count_done(int host, int task, bool ok) {
  int& pending = pending_[static_cast<std::size_t>(task)][bucket(host)];
  if (--pending == 0) ++settled_generation_;
  std::vector<int>& in_wave = task_limits_[static_cast<std::size_t>(task)].pending;
  if (!in_wave.empty() && --in_wave[static_cast<std::size_t>(task_wave(host, task))] == 0)
    ++settled_generation_;  // the task's next wave may start it
  if (!ok) failed_hosts_[static_cast<std::size_t>(task)].push_back(host);
}

std::vector<int> Scheduler::remaining_jobs(int host) const {
  const std::vector<int>& tasks = shape_.host_tasks[static_cast<std::size_t>(host)];
  return std::vector<int>(tasks.begin() + static_cast<std::ptrdiff_t>(next_task_[static_cast<std::size_t>(host)]),
                          tasks.end());
}

void Scheduler::host_finished(int host, HostStatus status) {
  HostState& state = hosts_[static_cast<std::size_t>(host)];
  assert(state == HostState::Running || state == HostState::Parked);
  if (state == HostState::Parked) std::erase(parked_, host);
  if (state == HostState::Running && !is_local(host)) --running_;
  state = HostState::Finished;
  leave(host);
  // Jobs it will never run are done for whoever waits on them.
  for (int task : remaining_jobs(host)) count_done(host, task, false);
  next_task_[static_cast<std::size_t>(host)] = shape_.host_tasks[static_cast<std::size_t>(host)].size();
  if (is_local(host)) return;  // the controller's failures do not count against the hosts' budget
  --unfinished_in_wave_[static_cast<std::size_t>(wave_of(host))];
  // Unreachable, or failed outside any job (an internal error): the plan's budget.
  if (status == HostStatus::Failed || status == HostStatus::Unreachable) count_failure(host, -1);
}

// Moves parked hosts whose wait is over to `started`: the local host at once, remote hosts
// while fork slots are free. Rechecked only when some task became settled (or on abort).
void Scheduler::take_resumable(std::vector<int>& started) {
  if (parked_.empty() || (checked_generation_ == settled_generation_ && !aborted_)) return;
  checked_generation_ = settled_generation_;
  std::vector<int> still_parked;
  for (int host : parked_) {
    bool has_slot = aborted_ || is_local(host) || running_ < limits_.forks;
    if (!has_slot || !(aborted_ || can_go_on(host))) {
      still_parked.push_back(host);
      if (!has_slot) checked_generation_ = settled_generation_ - 1;  // look again when a slot frees
      continue;
    }
    hosts_[static_cast<std::size_t>(host)] = HostState::Running;
    if (!is_local(host)) ++running_;
    started.push_back(host);
    // Its place in a serial task is taken now, so that the next parked host waits for another.
    if (!aborted_) enter(host, next_of(host));
  }
  parked_ = std::move(still_parked);
}

int Scheduler::next_of(int host) const {
  return shape_
      .host_tasks[static_cast<std::size_t>(host)][next_task_[static_cast<std::size_t>(host)]];
}

bool Scheduler::can_go_on(int host) const {
  const int task = next_of(host);
  if (!is_local(host) && effective_wave(host, task) > wave_) return false;
  std::optional<Skip> skip;
  for (int need : shape_.needs[static_cast<std::size_t>(task)])
    if (!need_allows(host, task, need, skip)) return false;
  return after_allows(host, task) && (skip || rolling_allows(host, task));
}

// D16: a notifier that runs on this host is waited for as a need is, and its failure does not
// skip the task (the host stops anyway); one that does not run here cannot notify here.
bool Scheduler::after_allows(int host, int task) const {
  std::optional<Skip> ignored;
  for (int before : shape_.after[static_cast<std::size_t>(task)])
    if (runs(host, before) && !need_allows(host, task, before, ignored)) return false;
  return true;
}

// The next wave starts when every host of the current one has ended; hosts of later waves
// that ran all their jobs early may have ended already.
void Scheduler::advance_wave() {
  while (wave_ + 1 < wave_count() && unfinished_in_wave_[static_cast<std::size_t>(wave_)] == 0) {
    ++wave_;
    ++settled_generation_;  // parked hosts whose jobs are due in this wave may go on
  }
}

std::vector<int> Scheduler::take_startable_hosts() {
  std::vector<int> started;
  if (shape_.local_host && !local_started_ && !aborted_) {
    local_started_ = true;
    hosts_[static_cast<std::size_t>(*shape_.local_host)] = HostState::Running;
    started.push_back(*shape_.local_host);
  }
  if (!aborted_ && !wave_ends_.empty()) advance_wave();
  take_resumable(started);
  if (aborted_ || wave_ends_.empty()) return started;
  // Hosts start in host order, those due in earlier waves first.
  for (std::size_t w = 0; w <= static_cast<std::size_t>(wave_) && running_ < limits_.forks; ++w) {
    for (std::size_t& next = started_in_[w]; next < starts_[w].size() && running_ < limits_.forks; ++next) {
      const int host = starts_[w][next];
      hosts_[static_cast<std::size_t>(host)] = HostState::Running;
      started.push_back(host);
      ++started_;
      ++running_;
    }
  }
  return started;
}

bool Scheduler::is_done() const {
  if (running_ > 0 || !parked_.empty()) return false;
  if (shape_.local_host && hosts_[static_cast<std::size_t>(*shape_.local_host)] == HostState::Running) return false;
  if (aborted_) return true;
  bool local_done = !shape_.local_host || hosts_[static_cast<std::size_t>(*shape_.local_host)] == HostState::Finished;
  return local_done && started_ == remote_hosts_;
}

bool Scheduler::is_stuck() const {
  bool local_running = shape_.local_host && hosts_[static_cast<std::size_t>(*shape_.local_host)] == HostState::Running;
  return !is_done() && running_ == 0 && !local_running && !parked_.empty();
}

std::vector<int> Scheduler::take_never_started() {
  std::vector<int> never;
  if (!aborted_) return never;
  for (std::size_t h = 0; h < remote_hosts_; ++h) {
    if (hosts_[h] != HostState::Waiting) continue;
    hosts_[h] = HostState::Finished;
    never.push_back(static_cast<int>(h));
  }
  started_ = remote_hosts_;
  if (shape_.local_host && hosts_[static_cast<std::size_t>(*shape_.local_host)] == HostState::Waiting) {
    hosts_[static_cast<std::size_t>(*shape_.local_host)] = HostState::Finished;
    never.push_back(*shape_.local_host);
  }
  return never;
}

}  // namespace deployd::sched
