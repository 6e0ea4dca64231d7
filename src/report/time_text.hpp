// SPDX-License-Identifier: MIT
// Times and durations as the text of events, run ids and summaries.
#pragma once

#include <cstdint>
#include <string>

#include "deployd/event.hpp"

namespace deployd::report {

/// RFC 3339 in UTC with milliseconds, as events carry it: `2026-11-28T13:42:35.123Z`.
std::string format_rfc3339_ms(Clock::time_point time);

/// Compact UTC time for names of files and folders: `20261128T134235Z` (sorts as time does).
std::string format_compact_utc(Clock::time_point time);

/// A duration for people: `4ms`, `0.1s`, `3.2s`, `2m05s`, `1h02m`.
std::string format_duration(std::int64_t duration_ms);

}  // namespace deployd::report
