// SPDX-License-Identifier: MIT
// Tests of src/report/escape.cpp: what remote bytes look like in JSON and on a terminal.
#include "report/escape.hpp"

#include <doctest/doctest.h>

#include <string>

namespace deployd::report {

TEST_SUITE("report") {
  TEST_CASE("plain text and valid multibyte UTF-8 are kept as they are") {
    const std::string text = "caf\xc3\xa9 \xe2\x82\xac 5 \xf0\x9f\x98\x80 C:\\path\\a41 \\d+";
    CHECK(escape_json(text) == text);
    CHECK(escape_terminal(text) == text);
    CHECK(escape_json("") == "");
  }

  TEST_CASE("bytes that are not UTF-8 become \\xNN, never dropped") {
    CHECK(escape_json("a\xff" + std::string("b")) == "a\\xffb");
    CHECK(escape_json("\x80") == "\\x80");                               // lone continuation
    CHECK(escape_json("\xe2\x82") == "\\xe2\\x82");                      // cut short at the end
    CHECK(escape_json("\xe2\x82" + std::string("A")) == "\\xe2\\x82A");  // cut short by ASCII
    CHECK(escape_json("\xc0\xaf") == "\\xc0\\xaf");                      // overlong "/"
    CHECK(escape_json("\xe0\x80\xaf") == "\\xe0\\x80\\xaf");             // overlong 3 bytes
    CHECK(escape_json("\xed\xa0\x80") == "\\xed\\xa0\\x80");             // UTF-16 surrogate
    CHECK(escape_json("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");    // above U+10FFFF
    CHECK(escape_json("\xf5\x80\x80\x80") == "\\xf5\\x80\\x80\\x80");
    CHECK(escape_json("ok \xc3\xa9\xc3") == "ok \xc3\xa9\\xc3");
    CHECK(escape_terminal("\xfe") == "\\xfe");
  }

  TEST_CASE("the edges of the UTF-8 ranges are valid") {
    for (const std::string text : {"\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf",
                                   "\xee\x80\x80", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf"}) {
      CHECK(utf8_sequence_length(text, 0) == text.size());
      CHECK(escape_json(text) == text);
    }
  }

  TEST_CASE("JSON text keeps control characters, which the JSON writer escapes itself") {
    CHECK(escape_json("a\tb\x1b[31m\r\x7f") == "a\tb\x1b[31m\r\x7f");
  }

  TEST_CASE("terminal text shows control characters other than tab as \\xNN") {
    CHECK(escape_terminal("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m");
    CHECK(escape_terminal("10%\r20%") == "10%\\x0d20%");
    CHECK(escape_terminal("a\tb") == "a\tb");
    CHECK(escape_terminal("bell\x07 del\x7f nul" + std::string(1, '\0')) ==
          "bell\\x07 del\\x7f nul\\x00");
    CHECK(escape_terminal("\x1b]0;pwned\x07") == "\\x1b]0;pwned\\x07");
  }

  TEST_CASE("terminal text shows C1 controls, which some terminals obey, byte by byte") {
    CHECK(escape_terminal("\xc2\x9b" + std::string("2J")) == "\\xc2\\x9b2J");  // U+009B, CSI
    CHECK(escape_terminal("\xc2\x85") == "\\xc2\\x85");
    CHECK(escape_terminal("\xc2\xa0") == "\xc2\xa0");  // U+00A0 is printable
    CHECK(escape_json("\xc2\x9b") == "\xc2\x9b");
  }

  TEST_CASE("a literal \\x is escaped, so \\xNN always stands for one byte (issue 16)") {
    // Before: the text `\xff` and the byte 0xff were both written `\xff`.
    CHECK(escape_json("\\xff") == "\\x5cxff");
    CHECK(escape_json("\xff") == "\\xff");
    CHECK(escape_terminal("C:\\x\\y") == "C:\\x5cx\\y");
    CHECK(escape_json("\\\xff") == "\\\\xff");  // a backslash, then the byte
    for (const std::string& bytes : {std::string("\\xff"), std::string("\xff"), std::string("\\\\x41\\"),
                                    std::string("a\\x5c\xc3") + std::string(1, '\0')}) {
      CHECK(unescape_bytes(escape_json(bytes)) == bytes);
      CHECK(unescape_bytes(escape_terminal(bytes)) == bytes);
    }
  }

  TEST_CASE("terminal text shows bidi controls and invisible characters byte by byte (issue 16)") {
    // U+202E RIGHT-TO-LEFT OVERRIDE would show "exe.txt" as "txt.exe".
    CHECK(escape_terminal("a\xe2\x80\xaetxt.exe") == "a\\xe2\\x80\\xaetxt.exe");
    CHECK(escape_terminal("ad\xe2\x80\x8bmin") == "ad\\xe2\\x80\\x8bmin");    // U+200B
    CHECK(escape_terminal("\xe2\x81\xa6x\xe2\x81\xa9") == "\\xe2\\x81\\xa6x\\xe2\\x81\\xa9");  // isolates
    CHECK(escape_terminal("\xef\xbb\xbf") == "\\xef\\xbb\\xbf");                  // U+FEFF
    CHECK(escape_terminal("\xe2\x80\xa8") == "\\xe2\\x80\\xa8");                  // U+2028
    CHECK(escape_terminal("\xe2\x80\x94 \xe2\x80\x90") == "\xe2\x80\x94 \xe2\x80\x90");  // dashes stay
    CHECK(escape_json("\xe2\x80\xae") == "\xe2\x80\xae");  // JSON keeps them: its readers decide
  }

  TEST_CASE("display width counts code points") {
    CHECK(display_width("node01") == 6);
    CHECK(display_width("n\xc3\xb6" + std::string("de")) == 4);
    CHECK(display_width("") == 0);
  }
}

}  // namespace deployd::report
