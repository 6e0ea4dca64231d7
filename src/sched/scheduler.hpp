// SPDX-License-Identifier: MIT
// The run's state machine: which hosts may start, which job each runs next, when to abort.
#pragma once

#include <cstddef>
#include <vector>

#include "deployd/event.hpp"
#include "deployd/plan.hpp"

namespace deployd::sched {

/// What the scheduler needs to know about a run: tasks by index, hosts by index.
struct RunShape {
  std::vector<std::vector<int>> needs;       ///< per task: the tasks it needs
  std::vector<std::vector<int>> host_tasks;  ///< per host: its tasks, in dependency order
};

/// The limits of the run policy that decide admission and abort.
struct Limits {
  int forks = 256;
  std::vector<Amount> batches;  ///< empty: one wave of every host
  Amount max_failures{100, true};
  OnFailure on_failure = OnFailure::StopHost;
};

/// What a host does next: run a task, or stop (all done, or the run was aborted).
struct NextJob {
  enum class Kind { Run, Finished, Aborted };
  Kind kind = Kind::Finished;
  int task = -1;
  std::vector<int> skipped;  ///< tasks passed over because a need failed on this host
};

/// Scheduler stores what has run where and decides what may run next. It does no I/O and
/// reads no clock (ninja's Plan), so every policy can be tested as a sequence of calls.
class Scheduler {
 public:
  Scheduler(RunShape shape, Limits limits);

  /// Hosts that may start now (within `forks` and the current wave); each is returned once.
  std::vector<int> take_startable_hosts();
  /// The next job of a started host. Jobs whose needs failed on it are skipped.
  NextJob next_job(int host);
  void job_finished(int host, int task, bool ok);
  /// A started host is done; frees its slot and counts it against the failure budget.
  void host_finished(int host, HostStatus status);

  bool is_aborted() const { return aborted_; }
  /// True when no host is running and none will start.
  bool is_done() const;
  /// After an abort: hosts that never started, to be reported as aborted (returned once).
  std::vector<int> take_never_started();
  /// The wave hosts are in (0-based), and the number of waves.
  int current_wave() const { return wave_; }
  int wave_count() const { return static_cast<int>(wave_ends_.size()); }

 private:
  enum class HostState { Waiting, Running, Finished };
  void abort() { aborted_ = true; }
  bool wave_is_finished() const;

  RunShape shape_;
  Limits limits_;
  std::vector<HostState> hosts_;
  std::vector<std::size_t> next_task_;       ///< per host: position in its host_tasks
  std::vector<std::vector<char>> task_ok_;   ///< per host, per task: finished successfully
  std::vector<std::size_t> wave_ends_;       ///< host index one past the end of each wave
  int wave_ = 0;
  std::size_t next_host_ = 0;  ///< hosts start in order
  int running_ = 0;
  int failures_ = 0;
  int allowed_failures_ = 0;
  bool aborted_ = false;
};

}  // namespace deployd::sched
