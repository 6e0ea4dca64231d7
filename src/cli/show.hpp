// SPDX-License-Identifier: MIT
// `deployd show RUN ...`: a recorded run looked at after the fact, from its run log alone (no
// plan is loaded). Options: --html FILE (the self-contained report), --timeline (the slowest
// hosts' bars in the terminal).
#pragma once

namespace deployd::cli {

/// True when argv asks for the `show` subcommand (its first argument is `show`).
bool is_show_command(int argc, const char* const* argv);

/// Runs `deployd show`; returns the exit status (0, or 2 for a usage error or a run not found).
int show_main(int argc, const char* const* argv);

}  // namespace deployd::cli
