// SPDX-License-Identifier: MIT
// What a run's summary needs, gathered from its events: counts, duration, each host's end.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "deployd/event.hpp"

namespace deployd::report {

/// One host's final state, as a summary lists it.
struct HostResult {
  std::string host;
  std::optional<HostStatus> status;  ///< empty while (or if) the host never ended
  std::string error;                 ///< host_end's error, else its last failed step's reason
  /// The last stderr lines of the step that failed it (or was cancelled), each cut to
  /// RunTally::kTailBytes, at most RunTally::kTailLines: what Ansible's failure line says.
  std::vector<std::string> stderr_tail{};
  int changed = 0;  ///< steps that changed the host (Ansible's PLAY RECAP `changed=`)
};

/// How one task went across the hosts that ran it (skipped steps are not timed).
struct TaskTiming {
  std::string task;
  int ok = 0;       ///< hosts where every step ran and none failed
  int failed = 0;   ///< hosts where a step failed or timed out
  int aborted = 0;  ///< hosts the run stopped (an abort, an interrupt) before the task ended
  int skipped = 0;  ///< hosts where every step was skipped
  int changed = 0;  ///< hosts where some step changed the host (Ansible's PLAY RECAP column)
  std::int64_t min_ms = 0;     ///< the task's time on a host: the sum of its steps' durations
  std::int64_t median_ms = 0;  ///< of the hosts that ran it (the lower middle when even)
  std::int64_t max_ms = 0;
};

/// A step whose failure was ignored (`ignore_errors`) on some hosts.
struct IgnoredFailure {
  std::string task;
  int step = 0;                    ///< 0-based, as in events
  std::vector<std::string> hosts;  ///< in the order they failed
};

/// Why a step failed, in one line: its error, else one made of task, step, exit and duration
/// (`deploy step 2: exited with status 1 after 0.1s`). Steps are numbered as events number them.
std::string step_failure_reason(const StepEnd& step);

/// Follows the events of a run and keeps what its summary needs; shared by the terminal
/// summary (StreamReporter) and summary.json (RunLog).
class RunTally {
 public:
  static constexpr std::size_t kTailLines = 3;
  static constexpr std::size_t kTailBytes = 200;

  void add(const Event& event);

  /// The run_start event, or null before it.
  const RunStart* start() const { return start_ ? &*start_ : nullptr; }
  /// The run_end event, or null before it (or when the run never ended).
  const RunEnd* end() const { return end_ ? &*end_ : nullptr; }
  /// Hosts in the order of their first event.
  const std::vector<HostResult>& hosts() const { return hosts_; }

  /// run_end's counts, else those of the host_end events so far.
  StatusCounts counts() const;
  /// run_end's duration, else the time from the first event to the last.
  std::int64_t duration_ms() const;
  /// The time of the first event.
  Clock::time_point started() const { return first_time_; }
  /// Per task, in the order tasks first ended a step: counts and timing across hosts.
  std::vector<TaskTiming> task_timings() const;
  /// Steps that failed with ignore_errors, in the order of their first such failure.
  const std::vector<IgnoredFailure>& ignored_failures() const { return ignored_; }

 private:
  /// One task on one host.
  struct TaskOnHost {
    std::int64_t duration_ms = 0;
    bool ran = false;  ///< some step was not skipped
    bool failed = false;
    int failed_step = -1;     ///< the step whose failure decides, until an attempt of it passes
    bool aborted = false;     ///< a step was cancelled by the run
    bool changed = false;     ///< some step changed the host
    bool incomplete = false;  ///< a step started and never ended, or was skipped after others ran
  };
  /// The stderr of a step running on a host, its last lines only (bounded memory).
  struct Tail {
    std::deque<std::string> lines;
    bool continues = false;  ///< the last line was partial
  };
  struct TaskRecord {
    std::string task;
    std::unordered_map<std::size_t, TaskOnHost> hosts;  ///< by index in hosts_
  };

  HostResult& host(const std::string& name);
  std::size_t host_index(const std::string& name);
  void add_step(const StepEnd& step);
  void add_ignored(const StepEnd& step);
  TaskOnHost& task_on_host(const std::string& task, const std::string& host);
  void add_stderr(const Output& output);

  std::optional<RunStart> start_;
  std::optional<RunEnd> end_;
  std::vector<HostResult> hosts_;
  std::unordered_map<std::string, std::size_t> index_;
  std::vector<TaskRecord> tasks_;
  std::vector<IgnoredFailure> ignored_;
  std::unordered_map<std::string, std::size_t> ignored_index_;  ///< by "task\0step"
  std::unordered_map<std::string, std::size_t> task_index_;
  std::unordered_map<std::string, Tail> tails_;  ///< host -> its running step's stderr
  Clock::time_point first_time_{};
  Clock::time_point last_time_{};
  bool seen_any_ = false;
};

}  // namespace deployd::report
