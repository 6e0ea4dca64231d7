// SPDX-License-Identifier: MIT
// Commands on the controller itself (`local` steps): /bin/sh -c, pipes read without blocking the
// loop.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "async/awaitable.hpp"
#include "base/cancel.hpp"
#include "base/exec_result.hpp"
#include "deployd/event.hpp"
#include "deployd/plan.hpp"

namespace deployd::local {

/// One command to run on the controller.
struct LocalCommand {
  std::string command;              ///< `/bin/sh -c` text (or `shell`'s)
  /// The shell's command line that `command` follows, found on PATH; empty: `/bin/sh -c`.
  std::vector<std::string> shell;
  std::string directory;            ///< working directory; must exist (empty: the controller's own)
  VarMap env;                       ///< added to (or replacing in) the controller's environment
  std::set<std::string> unset_env;  ///< taken out of it: the SSH secrets (password_env...)
  std::optional<Duration> timeout;  ///< unset: none
  /// After the timeout, how long the process group has between TERM and KILL.
  Duration kill_grace{2000};
  /// Requesting it stops the process group as a timeout does; the result says `cancelled`.
  base::Cancel* cancel = nullptr;
};

/// Receives output as it arrives, in chunks that may split lines anywhere.
using OutputHandler = std::function<void(OutputStream, std::string_view)>;

/// `base` joined with `cwd` (a relative `cwd` is inside `base`; an absolute one is used as is).
std::string working_directory(const std::string& base, const std::string& cwd);

/// Runs `command` in its own session and process group, stdin from /dev/null, stdout and
/// stderr read through two pipes on the calling coroutine's executor. Never blocks the loop.
/// The result is described exactly like a remote command's: exit status, signal name,
/// timed_out (the whole group was sent TERM, then KILL) or error (it could not be started).
boost::asio::awaitable<base::ExecResult> run_local(const LocalCommand& command,
                                                   OutputHandler on_output);

}  // namespace deployd::local
