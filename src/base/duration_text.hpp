// SPDX-License-Identifier: MIT
// Durations as text: the one home for both spellings (issue 15, section 2).
#pragma once

#include <chrono>
#include <string>

namespace deployd::base {

/// A configured duration (a timeout, keepalive, grace) as a plan writes it, in the largest unit
/// that divides it exactly: `250ms`, `30s`, `5m`, `1h`, `1.5s`, `0s`; plan::parse_duration
/// reads it back to the same value.
std::string duration_text(std::chrono::milliseconds duration);

/// A measured time as a stopwatch shows it: `50ms`, `0.3s`, `59.9s`, `2m05s`, `1h02m`.
std::string elapsed_text(std::chrono::nanoseconds elapsed);

}  // namespace deployd::base
