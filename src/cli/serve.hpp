// SPDX-License-Identifier: MIT
// `deployd serve [--idle D] [--foreground] [--status] [--stop]`, and how a run uses it
// (`--persist D`): warm sessions between runs (src/warm/, docs/architecture.md).
#pragma once

#include <memory>
#include <string>

#include "engine/transport.hpp"

namespace deployd::cli {

/// True when argv asks for the `serve` subcommand.
bool is_serve_command(int argc, const char* const* argv);

/// Runs `deployd serve`; returns the exit status.
int serve_main(int argc, const char* const* argv);

/// The transport of a run: `direct` behind warm sessions when a daemon serves this user (started
/// first when `persist` is given), else `direct` itself. `error` is set for a bad `--persist`
/// value or a daemon that cannot start.
std::unique_ptr<engine::Transport> with_warm_sessions(std::unique_ptr<engine::Transport> direct,
                                                      const std::string& persist,
                                                      std::string& error);

}  // namespace deployd::cli
