// SPDX-License-Identifier: MIT
// The command line (plan-format.md, "Command line") as a plain struct.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "deployd/plan.hpp"

namespace deployd::cli {

enum class OutputMode { Stream, Group, Json };
enum class ColorMode { Auto, Always, Never };

/// Everything the user asked for on the command line.
struct Options {
  std::string plan_path;
  std::vector<std::string> tasks;
  std::vector<std::string> hosts;   ///< -H: replaces the `on` targets of remote tasks
  std::vector<std::string> limit;   ///< --limit globs over host and group names
  VarMap vars;                      ///< --var NAME=VALUE
  std::vector<std::string> inventories;
  bool list = false;
  bool dry_run = false;
  bool show_files = false;  ///< --show-files: with --dry-run, what template and put steps install
  bool diff = false;        ///< --diff: compare those files with the hosts', change nothing
  bool graph = false;
  bool task_names = false;  ///< hidden --task-names: one task name a line, for shell completion
  bool host_names = false;  ///< hidden --host-names: host and group names, for shell completion
  bool quiet = false;       ///< -q: the summary only
  bool verbose = false;     ///< -v: connection phases and timings on stderr
  OutputMode output = OutputMode::Stream;
  ColorMode color = ColorMode::Auto;
  int forks = 0;  ///< 0: the plan's policy
  std::optional<std::vector<Amount>> batches;  ///< --batches SIZES: the plan's waves, this run
  std::string log_dir;
  bool retry_failed = false;  ///< --retry-failed: rerun the failed hosts of a previous run
  std::string retry_run_id;   ///< its RUN_ID; empty: the latest finished run of the plan
  std::string ssh_config;  ///< -F FILE: instead of ~/.ssh/config
  std::string report_file;  ///< --report FILE: the run's HTML report, written at its end
  std::string junit_file;   ///< --junit FILE: a JUnit XML report, written at the run's end
  std::string output_dir;   ///< --output-dir DIR: each host's stdout and stderr to DIR/HOST.out, .err
  std::string
      persist;  ///< --persist DURATION: keep sessions warm in `deployd serve` (cli/serve.cpp)
  // Ad-hoc commands and selection (issue 19).
  std::vector<std::string> command;  ///< `-- COMMAND...`: run this instead of a plan (ad-hoc)
  bool sudo = false;                 ///< --sudo: the ad-hoc command through sudo (as root)
  std::string timeout;               ///< --timeout DURATION: the ad-hoc command's timeout
  std::vector<std::string> only;     ///< --only TASK: these tasks, without their needs
  std::vector<std::string> exclude;  ///< --exclude GLOB (and --limit '!GLOB'): hosts left out
  bool list_hosts = false;           ///< --list-hosts: the hosts the command would touch, folded
  std::set<std::string> given;       ///< which of --output, --color, -f, --log-dir, -F were given
  std::string config_file;           ///< the config file whose defaults apply; empty: none
  std::vector<std::string> config_inventories;  ///< its "inventory", used when no -i is given

  bool is_ad_hoc() const { return !command.empty(); }
  std::vector<std::string> words_after_hosts;  ///< `-H a b`: b, if it became a task (a hint then)
};

/// The outcome of parsing: options to run with, or an exit status and what to print.
struct ParseResult {
  std::optional<Options> options;
  int exit_code = 0;
  std::string
      message;  ///< help/version text (stdout), or an error without `deployd: error: ` (stderr)
};

/// Parses argv with CLI11; never exits the process itself.
ParseResult parse_command_line(int argc, const char* const* argv);

/// With no `-i` (given, or taken from a retried run): the inventory `DEPLOYD_INVENTORY` names, if
/// set and not empty, else the config file's; said on stderr under -v. An error (naming the
/// variable) if it is missing.
std::optional<std::string> use_default_inventory(Options& options);

}  // namespace deployd::cli
