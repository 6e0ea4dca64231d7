// SPDX-License-Identifier: MIT
#include "base/duration_text.hpp"

#include <cstdint>

namespace deployd::base {
namespace {

// `n` with at least two digits, as a clock writes minutes and seconds.
std::string two_digits(std::int64_t n) { return (n < 10 ? "0" : "") + std::to_string(n); }

}  // namespace

std::string duration_text(std::chrono::milliseconds duration) {
  const std::int64_t ms = duration.count();
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  // Exact decimal seconds, trailing zeros dropped: 1500 is `1.5s`, 1234 is `1.234s`.
  std::string fraction = std::to_string(1000 + ms % 1000).substr(1);
  fraction.erase(fraction.find_last_not_of('0') + 1);
  return std::to_string(ms / 1000) + "." + fraction + "s";
}

// Tenths of a second up to a minute, as people read a stopwatch; milliseconds below 0.1s,
// where "0.0s" would say nothing. Each unit rounds, so 59.95s is `1m00s`, never `60.0s`.
std::string elapsed_text(std::chrono::nanoseconds elapsed) {
  std::int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  if (ms < 0) ms = 0;
  if (ms < 100) return std::to_string(ms) + "ms";
  const std::int64_t tenths = (ms + 50) / 100;
  if (tenths < 600) return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + "s";
  const std::int64_t seconds = (ms + 500) / 1000;
  if (seconds < 3600) return std::to_string(seconds / 60) + "m" + two_digits(seconds % 60) + "s";
  const std::int64_t minutes = (seconds + 30) / 60;
  return std::to_string(minutes / 60) + "h" + two_digits(minutes % 60) + "m";
}

}  // namespace deployd::base
