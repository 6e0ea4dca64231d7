// SPDX-License-Identifier: MIT
// Aho-Corasick over byte strings, and a growing set of such automata (see pattern_set.hpp).
#include "report/pattern_set.hpp"

#include <algorithm>
#include <bit>

namespace deployd::report {

Automaton::Automaton(std::vector<std::string> patterns, std::uint64_t& steps) {
  nodes_.emplace_back();  // the root: the empty string
  for (std::string& pattern : patterns) insert(std::move(pattern), steps);
  link(steps);
}

std::uint32_t Automaton::child(std::uint32_t node, unsigned char byte) const {
  for (std::uint32_t c = nodes_[node].first_child; c != kNone; c = nodes_[c].next_sibling)
    if (nodes_[c].byte == byte) return c;
  return kNone;
}

std::uint32_t Automaton::next(std::uint32_t state, unsigned char byte, std::uint64_t& steps) const {
  for (;;) {
    ++steps;
    if (const std::uint32_t c = child(state, byte); c != kNone) return c;
    if (state == 0) return 0;
    state = nodes_[state].fail;  // shorter suffixes: the depth falls, so this is amortized O(1)
  }
}

void Automaton::insert(std::string pattern, std::uint64_t& steps) {
  if (pattern.empty()) return;
  std::uint32_t node = 0;
  for (const char c : pattern) {
    ++steps;
    const auto byte = static_cast<unsigned char>(c);
    std::uint32_t found = child(node, byte);
    if (found == kNone) {
      found = static_cast<std::uint32_t>(nodes_.size());
      Node added;
      added.byte = byte;
      added.next_sibling = nodes_[node].first_child;
      nodes_.push_back(added);
      nodes_[node].first_child = found;
    }
    node = found;
  }
  if (nodes_[node].longest == pattern.size()) return;  // a duplicate
  nodes_[node].longest = static_cast<std::uint32_t>(pattern.size());
  bytes_ += pattern.size();
  patterns_.push_back(std::move(pattern));
}

// Failure links breadth first: a node's suffix is shallower, so it is linked before the node.
void Automaton::link(std::uint64_t& steps) {
  std::vector<std::uint32_t> queue;
  queue.reserve(nodes_.size());
  for (std::uint32_t c = nodes_[0].first_child; c != kNone; c = nodes_[c].next_sibling)
    queue.push_back(c);  // fail = root, already
  for (std::size_t head = 0; head < queue.size(); ++head) {
    const std::uint32_t node = queue[head];
    for (std::uint32_t c = nodes_[node].first_child; c != kNone; c = nodes_[c].next_sibling) {
      nodes_[c].fail = next(nodes_[node].fail, nodes_[c].byte, steps);
      nodes_[c].longest = std::max(nodes_[c].longest, nodes_[nodes_[c].fail].longest);
      queue.push_back(c);
    }
  }
}

bool Automaton::contains(std::string_view pattern) const {
  std::uint32_t node = 0;
  for (const char c : pattern) {
    node = child(node, static_cast<unsigned char>(c));
    if (node == kNone) return false;
  }
  return !pattern.empty() && nodes_[node].longest == pattern.size();
}

void PatternSet::add(std::vector<std::string> patterns) {
  std::erase_if(patterns, [this](const std::string& pattern) {
    return pattern.empty() || std::any_of(levels_.begin(), levels_.end(), [&](const Automaton& level) {
             return level.contains(pattern);
           });
  });
  if (patterns.empty()) return;
  std::size_t bytes = 0;
  for (const std::string& pattern : patterns) bytes += pattern.size();
  // Merge while the last automaton is not of a larger order of size: each merge at least
  // doubles the order of what it rebuilds, and orders strictly decrease along levels_.
  while (!levels_.empty() && std::bit_width(levels_.back().bytes()) <= std::bit_width(bytes)) {
    bytes += levels_.back().bytes();
    const std::vector<std::string>& known = levels_.back().patterns();
    patterns.insert(patterns.end(), known.begin(), known.end());
    levels_.pop_back();
  }
  levels_.emplace_back(std::move(patterns), steps_);
}

}  // namespace deployd::report
