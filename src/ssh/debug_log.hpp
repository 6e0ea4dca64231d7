// SPDX-License-Identifier: MIT
// `-v`: connection phases and timings on the "deployd" spdlog logger, kept out of headers.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace deployd::ssh {

/// The name of the spdlog logger the CLI configures (level debug under `-v`).
inline constexpr const char* kLoggerName = "deployd";

/// True when debug lines are wanted: the logger exists and logs at debug level. Callers test
/// it before they format a message, so a run without `-v` pays nothing.
bool is_debug_logging();

/// Logs `message` at debug level on the "deployd" logger, if there is one.
void debug_log(std::string_view message);

/// A phase's duration for `-v` lines, to a tenth of a millisecond ("50.3ms"): fine enough to
/// count round trips from (bench/wan_bench.py divides them by the RTT).
std::string format_phase(std::chrono::steady_clock::duration took);

}  // namespace deployd::ssh
