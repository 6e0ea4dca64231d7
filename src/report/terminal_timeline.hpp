// SPDX-License-Identifier: MIT
// `deployd show RUN --timeline`: the slowest hosts' steps as bars of Unicode blocks.
#pragma once

#include <cstddef>
#include <string>

#include "report/recorded_run.hpp"

namespace deployd::report {

struct TimelineOptions {
  std::size_t columns = 80;  ///< the terminal's width
  std::size_t hosts = 20;    ///< how many of the slowest hosts
  bool color = false;        ///< ANSI colours by status; the glyphs tell them apart without
};

/// A time axis, then one line per host, slowest (latest to end) first: its name, a bar per step
/// (█ ok, ▓ changed, ▒ retried, ░ skipped, ✗ failed, ╳ aborted; · waiting) and its total time.
/// Names are escaped for the terminal.
std::string render_terminal_timeline(const RecordedRun& run, const TimelineOptions& options);

}  // namespace deployd::report
