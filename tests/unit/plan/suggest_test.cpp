// SPDX-License-Identifier: MIT
// Tests of src/plan/suggest.cpp: edit distance, "did you mean" and quoting.
#include "plan/suggest.hpp"

#include <doctest/doctest.h>

using namespace deployd::plan;

TEST_SUITE("plan") {
  TEST_CASE("edit distance counts inserts, deletes, replacements and swaps") {
    CHECK(edit_distance("", "") == 0);
    CHECK(edit_distance("rn", "run") == 1);
    CHECK(edit_distance("tsak", "task") == 1);
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("abc", "") == 3);
  }

  TEST_CASE("the closest candidate is suggested when it is close enough") {
    std::vector<std::string> keys = {"run", "local", "put", "get", "cd", "to"};
    CHECK(suggest("rn", keys) == "run");
    CHECK(suggest("lcoal", keys) == "local");
    CHECK(suggest("x", keys) == "");
    CHECK(suggest("completely-different", keys) == "");
    CHECK(suggest("run", keys) == "");
    CHECK(suggest("hots", {"hosts", "host"}) == "hosts");
  }

  TEST_CASE("did you mean is empty when nothing is close") {
    CHECK(did_you_mean("deplyo", {"deploy", "pack"}) == " (did you mean \"deploy\"?)");
    CHECK(did_you_mean("zzz", {"deploy", "pack"}) == "");
  }

  TEST_CASE("user values are quoted as JSON strings") {
    CHECK(quote("web01") == "\"web01\"");
    CHECK(quote("a \"b\"\n") == "\"a \\\"b\\\"\\n\"");
    CHECK(quote("\xff") == "\"\xef\xbf\xbd\"");
  }

  TEST_CASE("bug: DEL and C1 controls (CSI U+009B) were quoted raw, to the terminal") {
    CHECK(quote("\x7f") == "\"\\u007f\"");
    CHECK(quote("a\xc2\x9b"
                "31mb") == "\"a\\u009b31mb\"");
    CHECK(quote("\xc2\x80\xc2\x9f") == "\"\\u0080\\u009f\"");
    CHECK(quote("\xc2\xa0\xc3\xa9") == "\"\xc2\xa0\xc3\xa9\"");  // NBSP and é stay as they are
  }
}
