// SPDX-License-Identifier: MIT
// Reading a finished run back from its summary.json: what `--retry-failed` reruns.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "report/run_record.hpp"

namespace deployd::report {

/// A finished run as its summary.json records it.
struct PreviousRun {
  std::string run_id;
  std::filesystem::path summary;  ///< the file it was read from
  std::string plan_sha256;        ///< empty when the run did not record it
  std::string started;            ///< RFC 3339 with milliseconds: sorts as the runs started
  RunRecord record;
  /// Hosts to run again: those that ended failed, unreachable or aborted, or never ended,
  /// in the summary's order. The controller ("local") is not a host and is never listed.
  std::vector<std::string> retry_hosts;
  bool local_failed = false;  ///< a local task failed (the controller ended failed)
  /// The run never finished (no summary.json: killed, crashed, power cut): read back from its
  /// events.jsonl, which knows only the hosts it reached, and not its -H or inventories.
  bool is_unfinished = false;
};

/// A previous run, or why there is none (a message naming the folder or file concerned).
struct PreviousRunLookup {
  std::optional<PreviousRun> run;
  std::string error;
  std::vector<std::string> warnings;  ///< e.g. a corrupt summary of some run that was skipped
};

/// Reads one summary.json. Errors: the file cannot be read, is not JSON, is not a run summary,
/// or was written by a deployd that did not record how to rerun the run.
PreviousRunLookup read_summary(const std::filesystem::path& summary);

/// Reads a run that never wrote its summary back from its events.jsonl: run_start names the plan
/// (as given, read relative to the current folder) and tasks; the hosts to retry are those its
/// events name that have no host_end, or one that is not ok.
PreviousRunLookup read_unfinished(const std::filesystem::path& run_dir);

/// The run `run_id` in `log_dir`; with an empty `run_id`, the latest run of the plan at
/// `plan_path` (absolute): the greatest run id (among ids of the same second, the latest
/// `started`) whose summary.json is this plan's, or, when a later run of this plan has no
/// summary, that unfinished run read from its events (is_unfinished). A corrupt summary is an
/// error when its events say it is this plan's run, else it is skipped with a warning.
PreviousRunLookup find_previous_run(const std::filesystem::path& log_dir,
                                    const std::string& plan_path, const std::string& run_id);

}  // namespace deployd::report
