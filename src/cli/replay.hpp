// SPDX-License-Identifier: MIT
// `deployd show RUN --output stream|group [--host H]`: a recorded run printed again, by feeding
// its events.jsonl to the reporters that printed it live.
#pragma once

#include <filesystem>
#include <string>

namespace deployd::cli {

/// Prints the run in `dir` to stdout as `--output` (`stream` or `group`) printed it, with
/// colours when `color`; with `host`, only that host's events (the summary keeps the whole
/// run's counts). Returns the exit status: 0, or 2 when the run cannot be read or has no such
/// host.
int replay_run(const std::filesystem::path& dir, const std::string& output, const std::string& host,
               bool color);

}  // namespace deployd::cli
