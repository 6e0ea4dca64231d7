// SPDX-License-Identifier: MIT
// How a command ended, wherever it ran: the engine's transports and local steps return it.
#pragma once

#include <optional>
#include <string>

namespace deployd::base {

/// How a command ended. Exactly one of exit_status, exit_signal, error, timed_out, cancelled
/// describes it.
struct ExecResult {
  std::optional<int> exit_status;
  std::string exit_signal;  ///< signal name without "SIG", e.g. "KILL"
  bool timed_out = false;
  std::string error;       ///< the connection failed during the command; the session is unusable
  bool cancelled = false;  ///< the wait for it was cancelled (Connection::cancel, base::Cancel)
};

}  // namespace deployd::base
