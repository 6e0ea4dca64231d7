// SPDX-License-Identifier: MIT
// Tests of src/report/time_text.cpp: times as text.
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
}

}  // namespace deployd::report
