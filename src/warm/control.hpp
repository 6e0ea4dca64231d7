// SPDX-License-Identifier: MIT
// Starting, asking and stopping `deployd serve` from the command line (blocking: no run yet).
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace deployd::warm {

/// The daemon's answer to a request, or why there is none.
struct Answer {
  std::optional<std::string> text;  ///< set: the daemon answered this
  std::string error;                ///< else why not ("not running" when nobody listens)
  bool is_running = false;          ///< something of ours listens at the socket
};

/// Asks the daemon serving `folder` for its status text.
Answer ask_status(const std::string& folder);

/// Asks it to close its sessions and exit; waits until it has (up to 10 s).
Answer ask_stop(const std::string& folder);

/// Starts `EXE serve --foreground --idle IDLE` in the background (its own session, stdin and
/// stdout on /dev/null, stderr appended to FOLDER/serve.log) unless a daemon already answers;
/// waits up to 3 s for its socket. Returns the error, or "".
std::string start_daemon(const std::string& folder, std::chrono::milliseconds idle);

}  // namespace deployd::warm
