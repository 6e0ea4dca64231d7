// SPDX-License-Identifier: MIT
// Turns the chunks of one host's stream (stdout or stderr) into whole lines.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::base {

/// Buffers the partial last line of one stream of one running step and hands out whole lines:
/// without their "\n", and without the "\r" of a "\r\n". The engine owns one per step and stream.
class LineSplitter {
 public:
  /// Lines longer than this are handed out in pieces, so a stream without newlines stays bounded.
  static constexpr std::size_t kDefaultMaxLine = std::size_t{1} << 20;

  /// `max_line` is the longest piece handed out (at least 4, the longest UTF-8 sequence).
  explicit LineSplitter(std::size_t max_line = kDefaultMaxLine);

  /// A line, or a piece of one too long to hold whole.
  struct Line {
    std::string text;
    bool is_partial = false;  ///< a piece cut at max_line: the line goes on in the next one
  };

  /// Appends a chunk, which may split lines anywhere; returns the lines it completed.
  std::vector<std::string> feed(std::string_view chunk);
  /// As feed(), saying which lines are pieces of a longer line.
  std::vector<Line> feed_lines(std::string_view chunk);

  /// At the end of the step: the last line if it had no newline, and an empty buffer.
  std::optional<std::string> flush();

  /// Bytes held for the current partial line.
  std::size_t pending() const { return buffer_.size(); }

 private:
  void append(std::string_view part, std::vector<Line>& lines);
  void cut_piece(std::vector<Line>& lines);

  std::size_t max_line_;
  std::string buffer_;
};

}  // namespace deployd::base
