// SPDX-License-Identifier: MIT
// A finished (or cut short) run read back from its run log folder: events.jsonl and run.json,
// shaped for the views of a run after the fact (the HTML report, the terminal timeline).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "report/run_context.hpp"

namespace deployd::report {

/// How a step attempt shows on a timeline.
enum class BarStatus { Ok, Changed, Failed, Skipped, Aborted, Retried };

/// The names the report's CSS and legend use: "ok", "changed", ...
const char* to_string(BarStatus status);

/// One attempt of one step on one host; times in ms since the run started.
struct Attempt {
  int task = 0;  ///< index into RecordedRun::tasks
  int step = 0;  ///< the step's number as events number it
  std::string name;
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  BarStatus status = BarStatus::Ok;
  std::optional<int> exit_status;
  std::string exit_signal;
  std::string error;
};

/// One line of output; consecutive pieces of a partial line are joined.
struct OutputLine {
  int task = 0;
  int step = 0;
  bool is_stderr = false;
  std::string text;
};

struct HostRecord {
  std::string name;
  std::vector<Attempt> attempts;  ///< in the order they started
  std::vector<OutputLine> output;
  std::string status;       ///< host_end's status; empty when the host never ended
  std::string error;        ///< host_end's error
  std::int64_t end_ms = 0;  ///< host_end's time, else its last attempt's end
  int wave = -1;            ///< 0-based; -1: not in a wave (the controller, or not known)
};

struct RecordedRun {
  std::filesystem::path dir;
  std::string run_id;
  std::string plan;
  std::string plan_sha256;
  std::vector<std::string> tasks;  ///< run_start's tasks, then any other a step names
  int host_count = 0;              ///< run_start's
  std::string started;             ///< RFC 3339, run_start's time
  std::int64_t start_epoch_ms = 0;
  std::string status;  ///< run_end's; empty when the run never ended
  std::optional<int> exit_code;
  std::int64_t duration_ms = 0;   ///< run_end's, else up to the last event
  std::vector<HostRecord> hosts;  ///< run.json's order, then in the order first seen
  RunContext context;
  std::vector<std::string> warnings;  ///< what could not be read (lines skipped, corrupt run.json)

  /// Index of `task` in tasks, added when new.
  int task_index(const std::string& task);
};

/// Reads `dir/events.jsonl` (and `dir/run.json` when there). A line that is not an event
/// (a run cut off mid-write) is skipped with a warning naming `events.jsonl:LINE`. Returns
/// nothing and sets `error` when the file cannot be read or holds no run_start.
std::optional<RecordedRun> read_recorded_run(const std::filesystem::path& dir, std::string& error);

}  // namespace deployd::report
