// SPDX-License-Identifier: MIT
// Hashing and heads of step output for group mode (see output_digest.hpp).
#include "report/output_digest.hpp"

#include <algorithm>

#include "report/escape.hpp"

namespace deployd::report {

bool HeadBudget::take(std::size_t bytes) {
  if (bytes > limit_ - used_) return false;
  used_ += bytes;
  return true;
}

// FNV-1a: no dependency, stable across runs. 64 bits make a collision between two different
// outputs of one step about as likely as a cosmic-ray bit flip for any realistic fleet.
void OutputDigest::mix(std::uint64_t& hash, std::string_view bytes) {
  for (char c : bytes) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
}

// Each stream is hashed on its own: the order in which a host's stdout and stderr lines
// arrive is a race (two channels, two pipes), not a difference in its result.
std::uint64_t OutputDigest::hash() const { return out_hash_ ^ (err_hash_ * 0x9E3779B97F4A7C15ull); }

void OutputDigest::add(const Output& output, const HeadLimits& limits, HeadBudget& budget) {
  const std::string_view shown = last_segment(output.line);
  const bool is_stdout = output.stream == OutputStream::Stdout;
  // Whole lines are compared, not what the terminal shows of a `\r` redraw: two hosts whose
  // lines differ before the last `\r` have different results. A partial piece has no end: the
  // pieces of a long line hash as the line would.
  std::uint64_t& hash = is_stdout ? out_hash_ : err_hash_;
  mix(hash, output.line);
  if (!output.is_partial) mix(hash, "\n");
  bytes_ += output.line.size() + (output.is_partial ? 0 : 1);
  lines_ += output.is_partial ? 0 : 1;
  if (is_truncated_) return;
  if (head_.size() >= limits.lines || head_bytes_ + sizeof(Line) >= limits.bytes) {
    is_truncated_ = true;
    return;
  }
  // A line longer than the room left shows its beginning, then the head stops.
  const std::size_t room = limits.bytes - head_bytes_ - sizeof(Line);
  const std::string_view part = shown.substr(0, room);
  std::string text = escape_terminal(part);
  const bool is_cut = part.size() < shown.size() || text.size() > room;
  if (is_cut) {
    text.resize(std::min(text.size(), room));
    // Drop a character the cut split (and, simply, the one before a cut between characters).
    while (!text.empty() && (static_cast<unsigned char>(text.back()) & 0xC0) == 0x80)
      text.pop_back();
    if (!text.empty() && static_cast<unsigned char>(text.back()) >= 0xC0) text.pop_back();
  }
  const std::size_t cost = text.size() + sizeof(Line);  // what the line holds, honestly counted
  if (!budget.take(cost)) {
    is_truncated_ = true;
    return;
  }
  head_bytes_ += cost;
  head_.push_back(Line{output.stream, std::move(text)});
  if (is_cut) is_truncated_ = true;
}

void OutputDigest::release(HeadBudget& budget) {
  budget.give_back(head_bytes_);
  head_bytes_ = 0;
  head_.clear();
  head_.shrink_to_fit();
}

}  // namespace deployd::report
