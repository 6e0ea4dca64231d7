// SPDX-License-Identifier: MIT
// `--output group`: each step's output once per distinct result, hosts folded into ranges.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "deployd/reporter.hpp"
#include "report/output_digest.hpp"
#include "report/run_tally.hpp"
#include "report/summary_text.hpp"

namespace deployd::report {

class StatusLine;

/// A task of the run and the hosts it runs on: what the reporter waits for before it prints a
/// step. A run_once task lists its one host; a local task lists "local".
struct TaskTargets {
  std::string task;
  int steps = 0;
  std::vector<std::string> hosts;
};

/// How a GroupReporter prints.
struct GroupOptions {
  std::vector<TaskTargets> targets;
  bool color = false;
  std::size_t host_width = 0;           ///< of host names in the summary
  std::size_t max_listed_hosts = 50;    ///< failed hosts the summary lists
  std::string run_log{};                ///< the run log's folder; named where output is cut
  std::string rerun_command{};          ///< shown by the summary when hosts failed
  RerunFallback rerun_fallback{};       ///< SummaryOptions::rerun_fallback
  StatusLine* status_line = nullptr;    ///< cleared before each write, when the terminal has one
  HeadLimits head{};                    ///< what each distinct output keeps for display
  std::size_t budget_bytes = 32 << 20;  ///< all heads held at once, every step together
};

/// Prints each step as soon as every host that runs it has ended it (or has ended: a host that
/// failed or stopped earlier never runs the step), grouping hosts whose result is the same
/// output (hashed) with the same status:
///
///     == deploy step 2: uname -r
///     web[01-05,07],db1 (7 hosts): ok
///       | 5.10.0
///     web06: exit 1, diff against the majority:
///       @@ -1 +1 @@
///       -| 5.10.0
///       +| 5.4.0
///
/// The majority comes first, then the others by size. An outlier is shown as a unified diff
/// against the majority when that is shorter than its output. Skipped steps are not shown.
/// Unreachable hosts print when they end; the summary of summary_text() ends the run.
class GroupReporter final : public Reporter {
 public:
  GroupReporter(std::FILE* out, GroupOptions options);
  ~GroupReporter() override;

  void on(const Event& event) override;
  void finish() override;

 private:
  struct Result;
  struct StepGroup;
  struct TaskState;

  StepGroup* find_step(const std::string& task, int step);
  void add_output(const Output& output);
  void end_step(const StepEnd& step);
  void end_host(const HostEnd& host);
  void mark_done(const std::string& host, std::size_t task, int up_to);
  void print_ready();
  void print_step(const TaskState& task, int index, StepGroup& step);
  void print_all_unprinted();
  void print_summary();
  void write(const std::string& text);

  std::FILE* out_;
  GroupOptions options_;
  RunTally tally_;
  HeadBudget budget_;
  std::vector<TaskState> tasks_;
  std::unordered_map<std::string, std::size_t> task_index_;
  /// host -> per task, the next step it has not ended; -1 when the task does not run there.
  std::unordered_map<std::string, std::vector<int>> cursors_;
  std::vector<std::pair<std::size_t, int>> ready_;  ///< steps ended everywhere, not yet printed
  std::unordered_set<std::string> failure_printed_;
  bool summary_printed_ = false;
};

}  // namespace deployd::report
