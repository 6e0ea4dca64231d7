// SPDX-License-Identifier: MIT
// `deployd runs [PLAN]`: the recorded runs of a plan, one line each, newest last.
#pragma once

namespace deployd::cli {

/// True when argv asks for the `runs` subcommand (its first argument is `runs`).
bool is_runs_command(int argc, const char* const* argv);

/// Runs `deployd runs`; returns the exit status (0, or 2 for a usage error).
int runs_main(int argc, const char* const* argv);

}  // namespace deployd::cli
