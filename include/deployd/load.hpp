// SPDX-License-Identifier: MIT
// Loading a plan: JSON text in, a validated Plan or every error found out. Never throws on bad input.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deployd/diagnostic.hpp"
#include "deployd/plan.hpp"

namespace deployd {

/// What the command line adds to a plan before it is validated.
struct LoadOptions {
  VarMap cli_vars;                      ///< `--var NAME=VALUE`; first in lookup order
  std::vector<std::string> inventories; ///< `-i FILE`: hosts, groups, defaults and vars to merge in
  std::string controller_user;          ///< default `user`; empty: taken from the environment
  std::string home;                     ///< for `~` expansion; empty: $HOME
  std::vector<std::string> hosts;  ///< `-H`: remote tasks run on these; names not in the plan are added
  std::string ssh_config;          ///< `-F FILE`: read instead of ~/.ssh/config or the plan's path
  bool read_imports = true;  ///< false: `imports` is an error, no file is read (a hermetic load)
  bool read_templates = true;      ///< false: a `template` step is an error, no file is read
  bool allow_no_hosts = false;     ///< `--list`: a task that targets no host is not an error
};

/// The outcome of loading: a plan when there is no error, else the errors sorted by position.
struct LoadResult {
  std::optional<Plan> plan;
  std::vector<Diagnostic> errors;  ///< at most kMaxErrors
  std::vector<Diagnostic> warnings;  ///< e.g. ssh_config keywords deployd does not support
  std::vector<Diagnostic> notes;     ///< said under -v only: ssh_config keywords that do not matter
  static constexpr std::size_t kMaxErrors = 20;
};

/// Reads and validates the plan at `path` (and the inventories the options name).
LoadResult load_plan(const std::string& path, const LoadOptions& options = {});

/// Validates plan text as if read from `file_name`; inventories are still read from disk.
LoadResult parse_plan(std::string_view text, const std::string& file_name,
                      const LoadOptions& options = {});

}  // namespace deployd
