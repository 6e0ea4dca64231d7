// SPDX-License-Identifier: MIT
// `deployd runs`: the runs recorded in a run log folder, one line each, oldest first.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "deployd/event.hpp"

namespace deployd::report {

/// One run as its folder records it: summary.json when the run finished, else events.jsonl's
/// run_start (a run still going, or cut off before its end); run.json for the command line.
struct RunListEntry {
  std::string run_id;
  std::string started;  ///< RFC 3339 with milliseconds, as recorded
  std::string status;   ///< run_end's status ("ok", "failed", ...); "unfinished" when none
  std::optional<int> exit_code;
  std::int64_t duration_ms = 0;
  StatusCounts counts;
  std::string plan_path;  ///< absolute when recorded; empty when not known
  std::vector<std::string> command_line;  ///< run.json's (secrets masked); empty when not known
};

/// The runs in `log_dir` (each a folder named by a run id), oldest first. With `plan` (an
/// absolute, canonical path), only that plan's runs. A folder that cannot be read is left
/// out with a warning in `warnings` naming it. A missing `log_dir` has no runs.
std::vector<RunListEntry> list_runs(const std::filesystem::path& log_dir, const std::string& plan,
                                    std::vector<std::string>& warnings);

/// One line per run, columns aligned: id, start (UTC, to the second), duration, result, hosts
/// ok / not ok, the command line (`deployd ...`, each word quoted for a shell when it must be).
std::string render_run_list(const std::vector<RunListEntry>& runs);

}  // namespace deployd::report
