// SPDX-License-Identifier: MIT
// The run's state machine: which hosts may start, which job each runs next, when to abort.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "deployd/event.hpp"
#include "deployd/plan.hpp"
#include "sched/failure_budget.hpp"

namespace deployd::sched {

/// A task's own failure policy (its `policy`): a key it does not set is the plan's.
struct TaskFailurePolicy {
  std::optional<Amount> max_failures;
  std::optional<OnFailure> on_failure;
  bool overrides() const { return max_failures || on_failure; }
};

/// A task's own rolling limits (its `policy.serial` and `policy.batches`, issue 18).
struct TaskRolling {
  std::optional<Amount> serial;  ///< at most this many of its hosts inside it at once
  std::vector<Amount> batches;   ///< its own waves over its hosts; empty: none
  bool limits() const { return serial || !batches.empty(); }
};

/// What the scheduler needs to know about a run: tasks by index, hosts by index.
struct RunShape {
  std::vector<std::vector<int>> needs;       ///< per task: the tasks it needs
  std::vector<std::vector<int>> host_tasks;  ///< per host: its tasks, in dependency order
  /// Per task (may be shorter than `needs`): tasks it runs after on a host that runs them, but
  /// does not need to succeed (a handler's notifiers: docs/needs-rules.md, D16).
  std::vector<std::vector<int>> after;
  /// Per task: a need its own host also runs is waited for on every host of the host's wave
  /// and earlier ones (barrier, run_once), not per host.
  std::vector<char> waits_for_all;
  /// Per task: it runs on one host only (local, run_once), so whoever needs it waits for it.
  std::vector<char> runs_once;
  /// The controller's pseudo-host of local tasks, if any: it takes no fork slot, belongs to no
  /// wave, and its needs wait for every host of every wave.
  std::optional<int> local_host;
  /// Per task (may be shorter than `needs`): a task that overrides `max_failures` or
  /// `on_failure` has a budget of its own, a percentage of the hosts it targets.
  std::vector<TaskFailurePolicy> task_policies;
  /// Per task (may be shorter than `needs`): its serial limit and waves, over the hosts that
  /// run it here.
  std::vector<TaskRolling> rolling;
};

/// One past the last host index of each rolling wave (plan-format.md, `batches`).
std::vector<std::size_t> wave_ends(const std::vector<Amount>& batches, std::size_t hosts);

/// The limits of the run policy that decide admission and abort.
struct Limits {
  int forks = 256;
  std::vector<Amount> batches;  ///< empty: one wave of every host
  Amount max_failures{100, true};
  OnFailure on_failure = OnFailure::StopHost;
};

/// How a job waits for one of its needs (plan-format.md, needs).
enum class NeedKind {
  PerHost,   ///< the need on the same host
  Barrier,   ///< the need on every host of this host's wave and earlier ones
  AllHosts,  ///< the need on every host that runs it, in any wave (local, run_once, other hosts)
};

/// A job passed over because a need did not succeed.
struct Skip {
  int task = -1;
  int need = -1;  ///< the first need that did not succeed
  NeedKind kind = NeedKind::PerHost;
  bool operator==(const Skip&) const = default;
};

/// What a host does next: run a task, wait for other hosts, or stop (all done, or aborted).
struct NextJob {
  enum class Kind { Run, Wait, Finished, Aborted };
  Kind kind = Kind::Finished;
  int task = -1;
  std::vector<Skip> skipped;  ///< tasks passed over because a need failed
};

/// Scheduler stores what has run where and decides what may run next. It does no I/O and
/// reads no clock (ninja's Plan), so every policy can be tested as a sequence of calls.
///
/// A host that must wait for others (NextJob::Kind::Wait) is parked: it gives its fork slot
/// back, so that the hosts it waits for can start, and take_startable_hosts() returns it again
/// when it may go on. With rolling waves, a barrier waits only for the hosts of its own and
/// earlier waves; a job that an earlier wave waits for on every host (a local, run_once or
/// cross-group need) runs early, in the first wave that needs it (its "effective wave"), so
/// no wave waits for one that cannot start yet.
class Scheduler {
 public:
  Scheduler(RunShape shape, Limits limits);

  /// Hosts that may (re)start now, within `forks` and the current wave: parked hosts whose wait
  /// is over first, then new hosts. Each start or resume is returned once.
  std::vector<int> take_startable_hosts();
  /// The next job of a started host. Jobs whose needs failed are skipped. A Wait parks the host.
  NextJob next_job(int host);
  /// A failed job fails its host: the failure is counted at once, against the task's budget if
  /// the task has one, else the plan's, and may abort the run.
  void job_finished(int host, int task, bool ok);
  /// A started host is done; frees its slot. A failed or unreachable host whose failure was not
  /// counted yet (no failed job) counts against the plan's budget. Jobs it did not run count
  /// as failed for the hosts that wait on them.
  void host_finished(int host, HostStatus status);
  /// The jobs a host has not run yet (to report as skipped when it stops early).
  std::vector<int> remaining_jobs(int host) const;
  /// How `host` waits for `need` before it runs `task`.
  NeedKind need_kind(int host, int task, int need) const;
  /// The hosts on which `task` ended without success so far (failed, skipped, not run).
  const std::vector<int>& failed_hosts(int task) const { return failed_hosts_[static_cast<std::size_t>(task)]; }
  /// The wave in which a host's job may start: its own wave, or an earlier one that needs it.
  int effective_wave(int host, int task) const;
  /// The task's own wave (its `policy.batches`) that a host's job is in; 0 without batches.
  int task_wave(int host, int task) const;
  /// Hosts inside `task` now (started it, not ended it).
  int inside(int task) const;

  bool is_aborted() const { return aborted_; }
  /// Aborts the run: nothing new starts, parked hosts wake to stop.
  void abort() { aborted_ = true; }
  /// True when no host is running or parked and none will start.
  bool is_done() const;
  /// True when hosts wait for each other and nothing runs that could release them: tasks that
  /// wait across rolling waves in a circle (a local task needing every wave, needed by wave 1).
  bool is_stuck() const;
  /// After an abort: hosts that never started, to be reported as aborted (returned once).
  std::vector<int> take_never_started();
  /// The wave hosts are in (0-based), and the number of waves.
  int current_wave() const { return wave_; }
  int wave_count() const { return static_cast<int>(wave_ends_.size()); }
  /// One past the last remote host index of each wave, as wave_ends() cut them.
  const std::vector<std::size_t>& wave_ends() const { return wave_ends_; }
  /// The tasks `host` runs, in dependency order (RunShape::host_tasks).
  const std::vector<int>& host_tasks(int host) const {
    return shape_.host_tasks[static_cast<std::size_t>(host)];
  }

 private:
  enum class HostState { Waiting, Running, Parked, Finished };
  bool is_local(int host) const { return shape_.local_host == host; }
  int wave_of(int host) const;
  /// The pending_ bucket of a host: its wave, or the last one for the local host.
  std::size_t bucket(int host) const { return static_cast<std::size_t>(wave_of(host)); }
  bool is_settled(int task, int up_to_wave) const;
  bool is_settled_everywhere(int task) const;
  bool need_allows(int host, int task, int need, std::optional<Skip>& skip) const;
  /// False while a task `task` runs after (RunShape::after) has not ended where it must.
  bool after_allows(int host, int task) const;
  /// Index of a job in the flat per-job tables.
  std::size_t job(int host, int task) const {
    return static_cast<std::size_t>(host) * shape_.needs.size() + static_cast<std::size_t>(task);
  }
  bool runs(int host, int task) const { return runs_[job(host, task)] != 0; }
  void compute_effective_waves();
  void advance_wave();
  bool can_go_on(int host) const;
  /// The task a started host runs (or skips) next.
  int next_of(int host) const;
  void park(int host);
  void take_resumable(std::vector<int>& started);
  void count_done(int host, int task, bool ok);
  /// `task` -1: a failure outside any task (unreachable), against the plan's budget.
  void count_failure(int host, int task);
  void make_task_budgets();
  void make_task_limits();
  /// Whether the task's serial limit and waves let `host` start it now.
  bool rolling_allows(int host, int task) const;
  void enter(int host, int task);
  void leave(int host);

  RunShape shape_;
  Limits limits_;
  std::vector<HostState> hosts_;
  std::vector<std::size_t> next_task_;       ///< per host: position in its host_tasks
  std::vector<std::vector<char>> task_ok_;   ///< per host, per task: finished successfully
  std::vector<char> runs_;                   ///< per job: the host runs the task
  std::vector<int> effective_;               ///< per job: the wave it may start in
  std::vector<std::vector<int>> pending_;    ///< per task, per bucket: hosts yet to be done with it
  std::vector<std::vector<int>> failed_hosts_;  ///< per task: where it ended without success
  std::vector<std::size_t> wave_ends_;       ///< remote host index one past each wave's end
  std::vector<int> unfinished_in_wave_;
  std::vector<int> parked_;                  ///< hosts waiting for others, in the order they parked
  std::size_t remote_hosts_ = 0;
  int wave_ = 0;
  /// Per wave: the remote hosts whose first job is due in it, in host order, and how many of
  /// them have started.
  std::vector<std::vector<int>> starts_;
  std::vector<std::size_t> started_in_;
  std::size_t started_ = 0;  ///< remote hosts started
  int running_ = 0;            ///< remote hosts holding a fork slot
  bool local_started_ = false;
  long settled_generation_ = 0;  ///< bumped whenever some task is done in some bucket
  long checked_generation_ = -1;
  FailureBudget plan_budget_;
  std::vector<std::optional<FailureBudget>> task_budgets_;  ///< per task, if it has its own
  std::vector<char> failure_counted_;                       ///< per host
  /// Per task with rolling limits: how many of its hosts may be inside it, how many are, and
  /// per task wave the hosts yet to end it.
  struct TaskLimit {
    int serial = 0;  ///< 0: no limit
    int inside = 0;
    std::vector<int> pending;
  };
  std::vector<TaskLimit> task_limits_;  ///< per task
  std::vector<int> task_wave_;          ///< per job, when some task has batches; else empty
  std::vector<int> inside_;             ///< per host: the limited task it is inside, or -1
  bool aborted_ = false;
};

}  // namespace deployd::sched
