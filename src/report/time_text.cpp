// SPDX-License-Identifier: MIT
// Formatting of UTC times (C++20 calendar types, so no gmtime and no locale).
#include "report/time_text.hpp"

#include <fmt/format.h>

#include <chrono>

namespace deployd::report {

namespace {

struct UtcFields {
  int year;
  unsigned month, day;
  long hours, minutes, seconds, millis;
};

UtcFields split_utc(Clock::time_point time) {
  using namespace std::chrono;
  const auto ms = floor<milliseconds>(time);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  const hh_mm_ss clock{ms - day};
  return {int(date.year()),
          unsigned(date.month()),
          unsigned(date.day()),
          long(clock.hours().count()),
          long(clock.minutes().count()),
          long(clock.seconds().count()),
          long(clock.subseconds().count())};
}

}  // namespace

// Every event is stamped, up to millions a second: the calendar part is worked out once per
// second (per thread) and only the milliseconds are written each time.
std::string format_rfc3339_ms(Clock::time_point time) {
  using namespace std::chrono;
  thread_local sys_seconds cached_second{};
  thread_local std::string cached_prefix;
  const auto ms = floor<milliseconds>(time);
  const auto second = floor<seconds>(ms);
  if (cached_prefix.empty() || second != cached_second) {
    const UtcFields t = split_utc(time);
    cached_prefix = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.", t.year, t.month, t.day,
                                t.hours, t.minutes, t.seconds);
    cached_second = second;
  }
  const auto millis = static_cast<unsigned>((ms - second).count());
  std::string text = cached_prefix;
  text += static_cast<char>('0' + millis / 100);
  text += static_cast<char>('0' + millis / 10 % 10);
  text += static_cast<char>('0' + millis % 10);
  text += 'Z';
  return text;
}

std::string format_compact_utc(Clock::time_point time) {
  const UtcFields t = split_utc(time);
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", t.year, t.month, t.day, t.hours, t.minutes,
                     t.seconds);
}

}  // namespace deployd::report
