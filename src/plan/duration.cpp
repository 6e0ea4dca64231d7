// SPDX-License-Identifier: MIT
// Parsing of durations (plan-format.md: "Durations are numbers (seconds) or strings").
#include "plan/duration.hpp"

#include <charconv>
#include <cmath>

namespace deployd::plan {

namespace {

// A year: longer than any sane timeout, and far from overflowing milliseconds.
constexpr double kMaxMilliseconds = 365.0 * 24 * 3600 * 1000;

std::optional<Duration> from_milliseconds(double ms) {
  if (!std::isfinite(ms) || ms < 0 || ms > kMaxMilliseconds) return std::nullopt;
  return Duration(static_cast<Duration::rep>(std::llround(ms)));
}

}  // namespace

std::optional<Duration> duration_from_seconds(double seconds) {
  return from_milliseconds(seconds * 1000);
}

std::optional<Duration> parse_duration(std::string_view text) {
  std::size_t digits = text.find_first_not_of("0123456789.");
  if (digits == 0 || digits == std::string_view::npos) return std::nullopt;
  std::string_view number = text.substr(0, digits);
  std::string_view unit = text.substr(digits);
  if (number.front() == '.' || number.back() == '.') return std::nullopt;
  double value = 0;
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (error != std::errc() || end != number.data() + number.size()) return std::nullopt;
  if (unit == "ms") return from_milliseconds(value);
  if (unit == "s") return from_milliseconds(value * 1000);
  if (unit == "m") return from_milliseconds(value * 60'000);
  if (unit == "h") return from_milliseconds(value * 3'600'000);
  return std::nullopt;
}

}  // namespace deployd::plan
