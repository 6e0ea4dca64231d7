// SPDX-License-Identifier: MIT
// `deployd serve`: the per-user process that keeps hosts' authenticated SSH sessions open
// between runs and runs commands on them for the runs of its user (docs/architecture.md).
#pragma once

#include <chrono>
#include <string>

namespace deployd::warm {

struct ServeOptions {
  std::string folder;  ///< the runtime folder (runtime_folder())
  /// A session nobody borrowed for this long is closed; the daemon exits once it has had no
  /// session and no client for as long.
  std::chrono::milliseconds idle = std::chrono::minutes(10);
};

/// Serves in this process until `--stop`, SIGTERM/SIGINT, or idleness; returns the exit status.
/// Prints one line on stderr when another daemon already serves the folder (then returns 0).
int run_daemon(const ServeOptions& options);

}  // namespace deployd::warm
