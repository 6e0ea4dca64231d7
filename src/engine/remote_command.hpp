// SPDX-License-Identifier: MIT
// The exact text a `run` step sends to the remote side: `sh -c` with cd, env and sudo applied.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "deployd/plan.hpp"

namespace deployd::engine {

/// `text` quoted for a POSIX shell, safe for any bytes: 'it'\''s'.
std::string shell_quote(std::string_view text);

/// What a step runs, after interpolation.
struct CommandSpec {
  std::string command;
  std::string cwd;  ///< empty: the login directory
  VarMap env;
  std::optional<std::string> sudo_user;  ///< "" means sudo's default user
  /// Start the script by reporting its process group on stderr (remote_process.hpp), so that a
  /// timeout or a cancel can stop every process of the step.
  bool report_process_group = false;
};

/// The exec text for `spec`. Environment variables are exported in the script rather than sent
/// as SSH `env` requests, because stock sshd accepts only LANG and LC_* (ssh-facts.md).
std::string remote_command(const CommandSpec& spec);

}  // namespace deployd::engine
