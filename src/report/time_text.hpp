// SPDX-License-Identifier: MIT
// Times as the text of events and run ids (base/duration_text.hpp spells durations).
#pragma once

#include <string>

#include "deployd/event.hpp"

namespace deployd::report {

/// RFC 3339 in UTC with milliseconds, as events carry it: `2026-11-28T13:42:35.123Z`.
std::string format_rfc3339_ms(Clock::time_point time);

/// Compact UTC time for names of files and folders: `20261128T134235Z` (sorts as time does).
std::string format_compact_utc(Clock::time_point time);

}  // namespace deployd::report
