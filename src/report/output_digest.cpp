// SPDX-License-Identifier: MIT
// Hashing and heads of step output for group mode (see output_digest.hpp).
#include "report/output_digest.hpp"

#include "report/escape.hpp"

namespace deployd::report {

bool HeadBudget::take(std::size_t bytes) {
  if (bytes > limit_ - used_) return false;
  used_ += bytes;
  return true;
}

// FNV-1a: no dependency, stable across runs. 64 bits make a collision between two different
// outputs of one step about as likely as a cosmic-ray bit flip for any realistic fleet.
void OutputDigest::mix(std::string_view bytes) {
  for (char c : bytes) {
    hash_ ^= static_cast<unsigned char>(c);
    hash_ *= 1099511628211ull;
  }
}

void OutputDigest::add(const Output& output, const HeadLimits& limits, HeadBudget& budget) {
  const std::string_view shown = last_segment(output.line);
  const char stream = output.stream == OutputStream::Stdout ? 'o' : 'e';
  // The stream is part of the line, and a partial piece has no end: the pieces of a long line
  // hash as the line would.
  if (!continues_) mix(std::string_view(&stream, 1));
  mix(shown);
  if (!output.is_partial) mix("\n");
  continues_ = output.is_partial;
  bytes_ += output.line.size();
  lines_ += output.is_partial ? 0 : 1;
  if (is_truncated_) return;
  std::string text = escape_terminal(shown);
  const std::size_t cost = text.size() + sizeof(Line);  // what the line holds, honestly counted
  if (head_.size() >= limits.lines || head_bytes_ + cost > limits.bytes || !budget.take(cost)) {
    is_truncated_ = true;
    return;
  }
  head_bytes_ += cost;
  head_.push_back(Line{output.stream, std::move(text)});
}

void OutputDigest::release(HeadBudget& budget) {
  budget.give_back(head_bytes_);
  head_bytes_ = 0;
  head_.clear();
  head_.shrink_to_fit();
}

}  // namespace deployd::report
