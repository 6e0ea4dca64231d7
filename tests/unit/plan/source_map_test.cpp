// SPDX-License-Identifier: MIT
// Tests of src/plan/source_map.cpp: JSON pointers to line:column, with comments and escapes.
#include "plan/source_map.hpp"

#include <doctest/doctest.h>

using deployd::plan::append_pointer;
using deployd::plan::SourceMap;
using deployd::plan::TextPosition;

namespace {

std::string at(TextPosition position) {
  return std::to_string(position.line) + ":" + std::to_string(position.column);
}

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("pointers map to the line and column of values and keys") {
    SourceMap map(
        "{\n"
        "  \"tasks\": {\n"
        "    \"deploy\": { \"steps\": [ {\"run\": \"ls\"}, {\"rn\": 1} ] }\n"
        "  }\n"
        "}\n");
    CHECK(at(map.value_position("")) == "1:1");
    CHECK(at(map.key_position("/tasks")) == "2:3");
    CHECK(at(map.value_position("/tasks")) == "2:12");
    CHECK(at(map.value_position("/tasks/deploy/steps/0")) == "3:28");
    CHECK(at(map.key_position("/tasks/deploy/steps/1/rn")) == "3:44");
    CHECK(at(map.value_position("/tasks/deploy/steps/1/rn")) == "3:50");
    CHECK(at(map.value_position("/tasks/nothing")) == "0:0");
  }

  TEST_CASE("comments and strings that look like comments or braces are skipped") {
    SourceMap map(
        "// a plan\n"
        "{ /* \"a\": 1, { */ \"a\": \"// not a comment }\",\n"
        "  \"b\": [1, /* 2, */ \"x\\\"]\"], // trailing\n"
        "  \"c\": true }");
    CHECK(at(map.key_position("/a")) == "2:19");
    CHECK(at(map.value_position("/b/1")) == "3:21");
    CHECK(at(map.key_position("/c")) == "4:3");
    CHECK(map.scalar_text("/c") == "true");
  }

  TEST_CASE("escaped keys are decoded and escaped again as pointer tokens") {
    SourceMap map(R"({"a\/b": 1, "\u0074ilde~": 2, "caf\u00e9": 3})");
    CHECK(append_pointer("/x", "a/b~") == "/x/a~1b~0");
    CHECK(at(map.key_position("/a~1b")) == "1:2");
    CHECK(at(map.key_position("/tilde~0")) == "1:13");
    CHECK(at(map.key_position("/café")) == "1:31");
  }

  TEST_CASE("columns count code points, not bytes") {
    SourceMap map("{\"é\": \"ü\", \"k\": 1}");
    CHECK(at(map.key_position("/k")) == "1:12");
  }

  TEST_CASE("a byte order mark is neither a value nor a column") {
    SourceMap map("\xEF\xBB\xBF{\"k\": 1}");
    CHECK(at(map.key_position("/k")) == "1:2");
  }

  TEST_CASE("numbers keep the text they were written with") {
    SourceMap map(R"({"v": 1.50, "w": -2e3})");
    CHECK(map.scalar_text("/v") == "1.50");
    CHECK(map.scalar_text("/w") == "-2e3");
  }

  TEST_CASE("a key given twice in one object is recorded") {
    SourceMap map(R"({"run": "a", "run": "b", "x": {"run": 1}})");
    REQUIRE(map.duplicate_keys().size() == 1);
    CHECK(map.duplicate_keys()[0].key == "run");
    CHECK(at(map.position_of(map.duplicate_keys()[0].offset)) == "1:14");
    CHECK(at(map.value_position("/run")) == "1:21");
  }

  TEST_CASE("every prefix of a plan, and garbled text, is scanned without hanging") {
    std::string text = R"({"a": [1, {"b": "x\"y"}, /* c */ true], "d": {"e": null}} // end)";
    for (std::size_t size = 0; size <= text.size(); ++size) SourceMap map(text.substr(0, size));
    SourceMap garbled("{]}[}{:,,\"\\/x/*");
    CHECK(garbled.text().size() == 15);
  }

  TEST_CASE("deeply nested input does not exhaust the stack") {
    std::string text(200'000, '[');
    text += std::string(200'000, ']');
    SourceMap map(text);
    CHECK(at(map.value_position("/0/0")) == "1:3");
    std::string deep;
    for (int i = 0; i < 300; ++i) deep += "/0";
    CHECK(at(map.value_position(deep)) == "0:0");
  }

  TEST_CASE("placed positions: a value not placed is at the nearest placed one around it") {
    SourceMap map;
    map.place("/hosts/0", {}, {3, 1});
    map.place("/hosts/0/port", {3, 10}, {3, 23});
    CHECK(at(map.value_position("/hosts/0/port")) == "3:23");
    CHECK(at(map.key_position("/hosts/0/port")) == "3:10");
    CHECK(at(map.key_position("/hosts/0")) == "3:1");  // no key: its value
    CHECK(at(map.value_position("/hosts/0/vars/app")) == "3:1");
    CHECK(at(map.key_position("/hosts/0/vars/app")) == "3:1");
    CHECK(at(map.value_position("/groups/web")) == "0:0");
  }
}
