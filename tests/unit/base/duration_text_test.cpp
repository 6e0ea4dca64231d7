// SPDX-License-Identifier: MIT
// Tests of src/base/duration_text.cpp: configured durations in plan syntax, measured ones as a
// stopwatch shows them.
#include "base/duration_text.hpp"

#include <doctest/doctest.h>

#include "plan/duration.hpp"

namespace deployd::base {

using std::chrono::milliseconds;

TEST_SUITE("base") {
  TEST_CASE("a configured duration is spelled in the largest unit that divides it exactly") {
    CHECK(duration_text(milliseconds(0)) == "0s");
    CHECK(duration_text(milliseconds(250)) == "250ms");
    CHECK(duration_text(milliseconds(999)) == "999ms");
    CHECK(duration_text(milliseconds(1000)) == "1s");
    CHECK(duration_text(milliseconds(1500)) == "1.5s");
    CHECK(duration_text(milliseconds(1234)) == "1.234s");
    CHECK(duration_text(milliseconds(10'050)) == "10.05s");
    CHECK(duration_text(milliseconds(30'000)) == "30s");
    CHECK(duration_text(milliseconds(59'950)) == "59.95s");
    CHECK(duration_text(milliseconds(90'000)) == "90s");
    CHECK(duration_text(milliseconds(300'000)) == "5m");
    CHECK(duration_text(milliseconds(5'400'000)) == "90m");
    CHECK(duration_text(milliseconds(7'200'000)) == "2h");
  }

  TEST_CASE("a configured duration reads back through the plan's parser to the same value") {
    for (const long long ms :
         {0LL, 1LL, 250LL, 999LL, 1000LL, 1001LL, 1500LL, 1234LL, 59'950LL, 60'000LL, 61'500LL,
          3'599'999LL, 3'600'000LL, 5'400'000LL, 86'400'000LL}) {
      CAPTURE(ms);
      CHECK(plan::parse_duration(duration_text(milliseconds(ms))) == milliseconds(ms));
    }
  }

  TEST_CASE("an elapsed time reads like a stopwatch") {
    CHECK(elapsed_text(milliseconds(0)) == "0ms");
    CHECK(elapsed_text(milliseconds(4)) == "4ms");
    CHECK(elapsed_text(milliseconds(99)) == "99ms");
    CHECK(elapsed_text(milliseconds(100)) == "0.1s");
    CHECK(elapsed_text(milliseconds(250)) == "0.3s");
    CHECK(elapsed_text(milliseconds(999)) == "1.0s");
    CHECK(elapsed_text(milliseconds(1000)) == "1.0s");
    CHECK(elapsed_text(milliseconds(3249)) == "3.2s");
    CHECK(elapsed_text(milliseconds(3250)) == "3.3s");
    CHECK(elapsed_text(milliseconds(59'949)) == "59.9s");
  }

  TEST_CASE("an elapsed time of a minute or more shows minutes and seconds, then hours") {
    // 59.95s rounds to the next minute, never to "60.0s".
    CHECK(elapsed_text(milliseconds(59'950)) == "1m00s");
    CHECK(elapsed_text(milliseconds(125'000)) == "2m05s");
    CHECK(elapsed_text(milliseconds(125'300)) == "2m05s");
    CHECK(elapsed_text(milliseconds(3'599'499)) == "59m59s");
    CHECK(elapsed_text(milliseconds(3'599'500)) == "1h00m");
    CHECK(elapsed_text(milliseconds(3'600'000)) == "1h00m");
    CHECK(elapsed_text(milliseconds(3'720'000)) == "1h02m");
    CHECK(elapsed_text(std::chrono::hours(26)) == "26h00m");
  }

  TEST_CASE("an elapsed time takes a clock's duration, and a negative one is 0ms") {
    CHECK(elapsed_text(std::chrono::nanoseconds(1'449'999'999)) == "1.4s");
    CHECK(elapsed_text(std::chrono::microseconds(99'999)) == "99ms");
    CHECK(elapsed_text(milliseconds(-5)) == "0ms");
  }
}

}  // namespace deployd::base
