// SPDX-License-Identifier: MIT
// Durations as plans write them: seconds as a number, or `250ms`, `30s`, `5m`, `1h`.
#pragma once

#include <optional>
#include <string_view>

#include "deployd/plan.hpp"

namespace deployd::plan {

/// `seconds` (may be fractional) as a Duration; empty if negative, not finite or absurdly large.
std::optional<Duration> duration_from_seconds(double seconds);

/// Parses `250ms`, `1.5s`, `5m`, `1h` (a number, then one unit); empty if malformed.
std::optional<Duration> parse_duration(std::string_view text);

}  // namespace deployd::plan
