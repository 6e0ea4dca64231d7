// SPDX-License-Identifier: MIT
// A bounded record of one step's output on one host: a hash of all of it, and its first lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "deployd/event.hpp"

namespace deployd::report {

/// Bytes of output heads that group mode holds at once, for all steps and hosts together.
class HeadBudget {
 public:
  explicit HeadBudget(std::size_t limit) : limit_(limit) {}
  /// Takes `bytes` if they fit; false (taking nothing) when the budget is spent.
  bool take(std::size_t bytes);
  void give_back(std::size_t bytes) { used_ -= bytes; }
  std::size_t used() const { return used_; }

 private:
  std::size_t limit_;
  std::size_t used_ = 0;
};

/// How much of each output a digest keeps for display.
struct HeadLimits {
  std::size_t bytes = 8 << 10;
  std::size_t lines = 50;
};

/// One step's output on one host, as group mode compares and shows it: a hash of each stream's
/// whole lines (each stream on its own: how stdout and stderr lines interleave is a race), plus
/// the first lines as displayed (the last segment of `\r` redraws, escaped for the terminal) up
/// to HeadLimits and the HeadBudget. Memory stays bounded whatever the
/// output's size; the run log has all of it.
class OutputDigest {
 public:
  /// A displayed line: its stream and its escaped text.
  struct Line {
    OutputStream stream;
    std::string text;
    bool operator==(const Line&) const = default;
  };

  void add(const Output& output, const HeadLimits& limits, HeadBudget& budget);
  /// Returns the head's bytes to `budget` and forgets the head (the digest is no longer shown).
  void release(HeadBudget& budget);

  std::uint64_t hash() const;
  const std::vector<Line>& head() const { return head_; }
  /// Some lines are not in head(): the output went past the limits or the budget.
  bool is_truncated() const { return is_truncated_; }
  std::uint64_t lines() const { return lines_; }
  std::uint64_t bytes() const { return bytes_; }  ///< bytes of output, a newline per line

 private:
  static void mix(std::uint64_t& hash, std::string_view bytes);

  std::uint64_t out_hash_ = 14695981039346656037ull;  // FNV-1a offset basis
  std::uint64_t err_hash_ = 14695981039346656037ull;
  std::vector<Line> head_;
  std::size_t head_bytes_ = 0;
  bool is_truncated_ = false;
  std::uint64_t lines_ = 0;
  std::uint64_t bytes_ = 0;
};

}  // namespace deployd::report
