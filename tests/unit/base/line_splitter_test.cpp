// SPDX-License-Identifier: MIT
// Tests of src/base/line_splitter.cpp: chunks in, whole lines out.
#include "base/line_splitter.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace deployd::base {

namespace {

using Lines = std::vector<std::string>;

// Feeds every chunk, then flushes: all the lines a step's stream gives.
Lines split(LineSplitter& splitter, const std::vector<std::string>& chunks) {
  Lines lines;
  for (const std::string& chunk : chunks) {
    for (std::string& line : splitter.feed(chunk)) lines.push_back(std::move(line));
  }
  if (auto last = splitter.flush()) lines.push_back(std::move(*last));
  return lines;
}

Lines split(const std::vector<std::string>& chunks, std::size_t max_line = 1 << 20) {
  LineSplitter splitter(max_line);
  return split(splitter, chunks);
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("a chunk of whole lines gives each line without its newline") {
    LineSplitter splitter;
    CHECK(splitter.feed("one\ntwo\n") == Lines{"one", "two"});
    CHECK(splitter.pending() == 0);
    CHECK_FALSE(splitter.flush().has_value());
  }

  TEST_CASE("lines split across chunks anywhere come out whole") {
    LineSplitter splitter;
    CHECK(splitter.feed("hel").empty());
    CHECK(splitter.feed("lo\nwor") == Lines{"hello"});
    CHECK(splitter.feed("ld") == Lines{});
    CHECK(splitter.feed("\n") == Lines{"world"});

    SUBCASE("one byte at a time") {
      const std::string text = "alpha\nbeta\r\n\ngamma";
      std::vector<std::string> bytes;
      for (char c : text) bytes.emplace_back(1, c);
      CHECK(split(bytes) == Lines{"alpha", "beta", "", "gamma"});
    }
  }

  TEST_CASE("a CRLF line ending loses its CR, even when a chunk ends between CR and LF") {
    CHECK(split({"dos\r\nunix\n"}) == Lines{"dos", "unix"});
    CHECK(split({"dos\r", "\nnext\r", "\n"}) == Lines{"dos", "next"});
    CHECK(split({"progress 10%\rprogress 20%\n"}) == Lines{"progress 10%\rprogress 20%"});
    CHECK(split({"\r\n"}) == Lines{""});
  }

  TEST_CASE("flush gives the last unterminated line once and empties the buffer") {
    LineSplitter splitter;
    CHECK(splitter.feed("done\ntail") == Lines{"done"});
    CHECK(splitter.pending() == 4);
    CHECK(splitter.flush() == std::optional<std::string>("tail"));
    CHECK_FALSE(splitter.flush().has_value());
    CHECK(splitter.feed("again\n") == Lines{"again"});
  }

  TEST_CASE("a trailing CR without LF is kept by flush") {
    CHECK(split({"spinner\r"}) == Lines{"spinner\r"});
  }

  TEST_CASE("empty lines are kept, an empty chunk gives nothing") {
    CHECK(split({"\n\na\n\n"}) == Lines{"", "", "a", ""});
    LineSplitter splitter;
    CHECK(splitter.feed("").empty());
    CHECK_FALSE(splitter.flush().has_value());
  }

  TEST_CASE("a line longer than the cap comes out in pieces of the cap") {
    CHECK(split({"abcdefghijkl\n"}, 8) == Lines{"abcdefgh", "ijkl"});
    CHECK(split({"abcd", "efghij", "klmnopqrs"}, 8) == Lines{"abcdefgh", "ijklmnop", "qrs"});
    CHECK(split({"abcdefghijklmnop\nx\n"}, 8) == Lines{"abcdefgh", "ijklmnop", "x"});
  }

  TEST_CASE("a line of exactly the cap is one line, ended by LF or by CRLF") {
    CHECK(split({"abcdefgh\n"}, 8) == Lines{"abcdefgh"});
    CHECK(split({"abcdefgh\r\n"}, 8) == Lines{"abcdefgh"});
    CHECK(split({"abcdefgh\r", "\n"}, 8) == Lines{"abcdefgh"});
    CHECK(split({"abcdefgh\rxy\n"}, 8) == Lines{"abcdefgh", "\rxy"});
  }

  TEST_CASE("a piece never cuts a UTF-8 character in two") {
    // "é" is two bytes: the cut at 8 would fall inside it, so the first piece is 7 bytes.
    CHECK(split({"abcdefg\xc3\xa9xyz\n"}, 8) == Lines{"abcdefg", "\xc3\xa9xyz"});
    // Four continuation bytes in a row are not UTF-8: cut at the cap anyway.
    CHECK(split({"abcd\x80\x80\x80\x80\x80\x80"}, 4) ==
          Lines{"abcd", "\x80\x80\x80\x80", "\x80\x80"});
  }

  TEST_CASE("pieces of a long line are flagged partial, its last piece and whole lines not") {
    LineSplitter splitter(4);
    std::vector<LineSplitter::Line> lines = splitter.feed_lines("abcdefghij\nxy\n");
    REQUIRE(lines.size() == 4);
    CHECK((lines[0].text == "abcd" && lines[0].is_partial));
    CHECK((lines[1].text == "efgh" && lines[1].is_partial));
    CHECK((lines[2].text == "ij" && !lines[2].is_partial));
    CHECK((lines[3].text == "xy" && !lines[3].is_partial));
  }

  TEST_CASE("memory stays bounded by the cap on a stream without newlines") {
    LineSplitter splitter(1024);
    const std::string chunk(4096 + 7, 'x');
    std::size_t pieces = 0;
    std::size_t bytes = 0;
    for (int i = 0; i < 100; ++i) {
      for (const std::string& piece : splitter.feed(chunk)) {
        CHECK(piece.size() == 1024);
        ++pieces;
        bytes += piece.size();
      }
      CHECK(splitter.pending() <= 1025);
    }
    bytes += splitter.flush().value_or("").size();
    CHECK(bytes == chunk.size() * 100);
    CHECK(pieces == chunk.size() * 100 / 1024);
  }
}

}  // namespace deployd::base
