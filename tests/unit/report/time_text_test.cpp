// SPDX-License-Identifier: MIT
// Tests of src/report/time_text.cpp: times and durations as text.
#include "report/time_text.hpp"

#include <doctest/doctest.h>

#include <chrono>

#include "support.hpp"

namespace deployd::report {

using test::base_time;

TEST_SUITE("report") {
  TEST_CASE("event times are RFC 3339 UTC with milliseconds") {
    CHECK(format_rfc3339_ms(base_time()) == "2026-11-28T13:42:35.123Z");
    CHECK(format_rfc3339_ms(Clock::time_point{}) == "1970-01-01T00:00:00.000Z");
    // Sub-millisecond parts are cut, not rounded: a time never moves into the next second.
    const auto almost = base_time() + std::chrono::microseconds{876'999};
    CHECK(format_rfc3339_ms(almost) == "2026-11-28T13:42:35.999Z");
  }

  TEST_CASE("compact UTC times sort as time does and fit in a file name") {
    CHECK(format_compact_utc(base_time()) == "20261128T134235Z");
    CHECK(format_compact_utc(Clock::time_point{}) == "19700101T000000Z");
  }

  TEST_CASE("durations read like a stopwatch") {
    CHECK(format_duration(0) == "0ms");
    CHECK(format_duration(4) == "4ms");
    CHECK(format_duration(99) == "99ms");
    CHECK(format_duration(100) == "0.1s");
    CHECK(format_duration(3249) == "3.2s");
    CHECK(format_duration(3250) == "3.3s");
    CHECK(format_duration(59'949) == "59.9s");
    CHECK(format_duration(59'950) == "1m00s");
    CHECK(format_duration(125'000) == "2m05s");
    CHECK(format_duration(3'599'499) == "59m59s");
    CHECK(format_duration(3'600'000) == "1h00m");
    CHECK(format_duration(3'720'000) == "1h02m");
    CHECK(format_duration(-5) == "0ms");
  }
}

}  // namespace deployd::report
