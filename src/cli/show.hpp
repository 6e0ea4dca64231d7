// SPDX-License-Identifier: MIT
// `deployd show RUN ...`: a recorded run looked at after the fact, from its run log alone (no
// plan is loaded). Options: --html FILE (the self-contained report), --timeline (the slowest
// hosts' bars in the terminal).
#pragma once

#include <filesystem>
#include <string>

namespace deployd::cli {

/// Where recorded runs are looked for: `log_dir` when given, else the config file's `log_dir`,
/// else `.deployd/runs` beside `plan` when given, else `./.deployd/runs` (as a run without
/// --log-dir writes them).
std::filesystem::path recorded_log_dir(const std::string& log_dir, const std::string& plan);

/// True when argv asks for the `show` subcommand (its first argument is `show`).
bool is_show_command(int argc, const char* const* argv);

/// Runs `deployd show`; returns the exit status (0, or 2 for a usage error or a run not found).
int show_main(int argc, const char* const* argv);

}  // namespace deployd::cli
