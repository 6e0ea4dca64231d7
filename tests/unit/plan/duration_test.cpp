// SPDX-License-Identifier: MIT
// Tests of src/plan/duration.cpp: numbers of seconds and strings with units.
#include "plan/duration.hpp"

#include <doctest/doctest.h>

using namespace deployd::plan;
using deployd::Duration;

TEST_SUITE("plan") {
  TEST_CASE("durations are parsed from strings with a unit") {
    CHECK(parse_duration("250ms") == Duration(250));
    CHECK(parse_duration("30s") == Duration(30'000));
    CHECK(parse_duration("1.5s") == Duration(1'500));
    CHECK(parse_duration("5m") == Duration(300'000));
    CHECK(parse_duration("1h") == Duration(3'600'000));
    CHECK(parse_duration("0s") == Duration(0));
  }

  TEST_CASE("malformed durations are rejected") {
    for (const char* text :
         {"", "30", "s", "30x", "-1s", "1.s", ".5s", "1 s", "1h30m", "1e3s", "9999999h"}) {
      CAPTURE(text);
      CHECK_FALSE(parse_duration(text).has_value());
    }
  }

  TEST_CASE("seconds may be fractional but not negative") {
    CHECK(duration_from_seconds(10) == Duration(10'000));
    CHECK(duration_from_seconds(0.25) == Duration(250));
    CHECK_FALSE(duration_from_seconds(-1).has_value());
  }
}
