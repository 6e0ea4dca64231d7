// SPDX-License-Identifier: MIT
// Tests of src/base/line_diff.cpp: hunks as `diff -U1` prints them.
#include "base/line_diff.hpp"

#include <doctest/doctest.h>

namespace deployd::base {

using Lines = std::vector<std::string>;

TEST_SUITE("report") {
  TEST_CASE("one changed line gives one hunk with a line of context around it") {
    CHECK(unified_diff({"a", "b", "c", "d", "e"}, {"a", "b", "X", "d", "e"}) ==
          Lines{"@@ -2,3 +2,3 @@", " b", "-c", "+X", " d"});
  }

  TEST_CASE("changes far apart give separate hunks; close ones share one") {
    const Lines from{"1", "2", "3", "4", "5", "6", "7", "8"};
    CHECK(unified_diff(from, {"x", "2", "3", "4", "5", "6", "7", "y"}) ==
          Lines{"@@ -1,2 +1,2 @@", "-1", "+x", " 2", "@@ -7,2 +7,2 @@", " 7", "-8", "+y"});
    CHECK(unified_diff(from, {"1", "x", "3", "y", "5", "6", "7", "8"}) ==
          Lines{"@@ -1,5 +1,5 @@", " 1", "-2", "+x", " 3", "-4", "+y", " 5"});
  }

  TEST_CASE("added and removed lines are counted as diff counts them") {
    CHECK(unified_diff({"a"}, {"a", "b"}) == Lines{"@@ -1 +1,2 @@", " a", "+b"});
    CHECK(unified_diff({}, {"new"}) == Lines{"@@ -0,0 +1 @@", "+new"});
    CHECK(unified_diff({"old"}, {}) == Lines{"@@ -1 +0,0 @@", "-old"});
  }

  TEST_CASE("equal inputs give no hunk, and inputs too long to compare give nothing") {
    CHECK(unified_diff({"a", "b"}, {"a", "b"}) == Lines{});
    CHECK_FALSE(unified_diff(Lines(100, "a"), Lines(100, "b"), 1, 1000).has_value());
  }
}

}  // namespace deployd::base
