// SPDX-License-Identifier: MIT
// One line at the bottom of a terminal, redrawn in place (ninja's smart-terminal status line).
#pragma once

#include <cstdio>
#include <string_view>

namespace deployd::report {

/// A line redrawn in place on a terminal stream (stderr). Whoever prints other text to the
/// same terminal calls clear() first, so the line never mixes into that text; the next show()
/// draws it again. Only for terminals: it writes carriage returns and `ESC [K`.
class StatusLine {
 public:
  explicit StatusLine(std::FILE* out) : out_(out) {}

  /// Replaces the line with `text` (which must fit the terminal's width and hold no newline).
  void show(std::string_view text);
  /// Erases the line if it is shown.
  void clear();
  bool is_shown() const { return is_shown_; }

 private:
  std::FILE* out_;
  bool is_shown_ = false;
};

/// Columns of the terminal on `out`, or 0 when unknown.
std::size_t terminal_columns(std::FILE* out);

}  // namespace deployd::report
