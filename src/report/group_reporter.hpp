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

/// How a GroupReporter prints. What it waits for comes from run_start: each task's hosts
/// (`targets`) and the waves (`host_names`, `wave_ends`).
struct GroupOptions {
  bool color = false;
  std::size_t host_width = 0;           ///< of host names in the summary
  std::size_t max_listed_groups = 10;   ///< lines of hosts not ok the summary lists
  std::string run_log{};                ///< the run log's folder; named where output is cut
  std::string rerun_command{};          ///< shown by the summary when hosts failed
  std::string rerun_note{};             ///< a line under it: the run's --var names
  RerunFallback rerun_fallback{};       ///< SummaryOptions::rerun_fallback
  StatusLine* status_line = nullptr;    ///< cleared before each write, when the terminal has one
  HeadLimits head{};                    ///< what each distinct output keeps for display
  std::size_t budget_bytes = 32 << 20;  ///< all heads held at once, every step together
  /// deployd's own lines (an unreachable host, the summary), kept out of a pipe of the steps'
  /// blocks as stream mode keeps them. Null: `out`.
  std::FILE* messages = nullptr;
};

/// Prints each step as soon as every host that runs it has ended it (or has ended: a host that
/// failed or stopped earlier never runs the step), per rolling wave when the run has several,
/// grouping hosts whose result is the same output (each stream hashed on its own) with the
/// same status:
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
/// The step's label is each host's, folded (TextFold: `<host>` where each host has its own
/// name). A step of a later wave prints as `== deploy step 2 (wave 2 of 3): uname -r`.
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

  /// Builds the per-wave step tables from what run_start announced: each task's hosts and the
  /// waves (none: one wave).
  void lay_out(const RunStart& start);
  StepGroup* find_step(const std::string& task, int step, const std::string& host);
  void add_output(const Output& output);
  void end_step(const StepEnd& step);
  void end_host(const HostEnd& host);
  void mark_done(const std::string& host, std::size_t task, int up_to);
  void print_ready();
  void print_step(const TaskState& task, int index, int wave, StepGroup& step);
  int wave_of(const std::string& host) const;
  void print_all_unprinted();
  void print_summary();
  void write(const std::string& text, std::FILE* file = nullptr);  ///< null: to `out`

  std::FILE* out_;
  GroupOptions options_;
  RunTally tally_;
  HeadBudget budget_;
  std::vector<TaskState> tasks_;
  std::unordered_map<std::string, std::size_t> task_index_;
  /// host -> per task, the next step it has not ended; -1 when the task does not run there.
  std::unordered_map<std::string, std::vector<int>> cursors_;
  /// host -> its wave; hosts not listed (the controller, a run_once host) are in wave 0
  std::unordered_map<std::string, int> waves_;
  int wave_count_ = 1;
  struct Ready {
    int wave;
    std::size_t task;
    int step;
    auto operator<=>(const Ready&) const = default;
  };
  std::vector<Ready> ready_;  ///< steps ended everywhere (in a wave), not yet printed
  std::unordered_set<std::string> failure_printed_;
  bool summary_printed_ = false;
};

}  // namespace deployd::report
