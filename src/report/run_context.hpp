// SPDX-License-Identifier: MIT
// What the events of a run do not say about it: who ran what, with which policy and waves.
// Written once at the start of a run as `<run log>/run.json`, read back by the HTML report.
#pragma once

#include <utility>

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace deployd::report {

/// The run's circumstances, as the report's header and timeline show them.
struct RunContext {
  std::vector<std::string> command_line;  ///< argv, with every `--var` value replaced by `***`
  std::string user;                       ///< who ran deployd
  std::string cwd;                        ///< the folder it ran in
  /// The plan's policy as `key: value` texts, in the contract's order.
  std::vector<std::pair<std::string, std::string>> policy;
  std::vector<std::string> hosts;      ///< the run's remote hosts, in the order waves take them
  std::vector<std::size_t> wave_ends;  ///< one past the last host index of each wave
  std::vector<std::string> barriers;   ///< tasks with `barrier: true`
};

/// argv with the value of every `--var NAME=VALUE` (or `--var=NAME=VALUE`) replaced by `***`:
/// values may be secrets, and the run log must not hold them.
std::vector<std::string> masked_command_line(const std::vector<std::string>& argv);

/// Writes `dir/run.json` (0600). Returns an error message, empty when written.
std::string write_run_context(const std::filesystem::path& dir, const RunContext& context);

/// Reads `dir/run.json`; a missing file gives an empty context and no error (runs recorded
/// before it existed), a corrupt one an error naming the file.
std::pair<RunContext, std::string> read_run_context(const std::filesystem::path& dir);

}  // namespace deployd::report
