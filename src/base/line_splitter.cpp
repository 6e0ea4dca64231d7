// SPDX-License-Identifier: MIT
// Partial-line buffering per host and stream, so stream output never tears lines.
#include "base/line_splitter.hpp"

#include <algorithm>

namespace deployd::base {

LineSplitter::LineSplitter(std::size_t max_line) : max_line_(std::max<std::size_t>(max_line, 4)) {}

std::vector<std::string> LineSplitter::feed(std::string_view chunk) {
  std::vector<std::string> texts;
  for (Line& line : feed_lines(chunk)) texts.push_back(std::move(line.text));
  return texts;
}

std::vector<LineSplitter::Line> LineSplitter::feed_lines(std::string_view chunk) {
  std::vector<Line> lines;
  while (!chunk.empty()) {
    const std::size_t newline = chunk.find('\n');
    append(chunk.substr(0, newline), lines);
    if (newline == std::string_view::npos) break;
    if (!buffer_.empty() && buffer_.back() == '\r') buffer_.pop_back();
    lines.push_back(Line{std::move(buffer_), false});
    buffer_.clear();
    chunk.remove_prefix(newline + 1);
  }
  return lines;
}

std::optional<std::string> LineSplitter::flush() {
  if (buffer_.empty()) return std::nullopt;
  std::string last = std::move(buffer_);
  buffer_.clear();
  return last;
}

// Appends bytes that hold no newline. The buffer keeps at most max_line_ bytes plus one, and
// that extra byte only while it is a '\r': it may be the "\r" of a "\r\n", which must not
// become a piece of its own (a line of exactly max_line_ bytes ending in "\r\n" is one line).
void LineSplitter::append(std::string_view part, std::vector<Line>& lines) {
  while (!part.empty()) {
    if (buffer_.size() > max_line_) cut_piece(lines);  // the held '\r' was not followed by '\n'
    const std::size_t room = max_line_ + 1 - buffer_.size();
    const std::size_t n = std::min(room, part.size());
    buffer_.append(part.substr(0, n));
    part.remove_prefix(n);
    if (buffer_.size() > max_line_ && buffer_.back() != '\r') cut_piece(lines);
  }
}

// Hands out the first max_line_ bytes, or fewer when a UTF-8 character starting in the last 3
// bytes runs past the cut: shown in two pieces it would look like invalid bytes.
void LineSplitter::cut_piece(std::vector<Line>& lines) {
  std::size_t cut = max_line_;
  for (std::size_t back = 1; back <= 3; ++back) {
    const auto byte = static_cast<unsigned char>(buffer_[cut - back]);
    if ((byte & 0xC0) == 0x80) continue;  // a continuation: look further back for the lead
    const std::size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1;
    if (length > back) cut -= back;
    break;
  }
  lines.push_back(Line{buffer_.substr(0, cut), true});
  buffer_.erase(0, cut);
}

}  // namespace deployd::base
