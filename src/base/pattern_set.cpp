// SPDX-License-Identifier: MIT
// Aho-Corasick over byte strings, and a growing set of such automata (see pattern_set.hpp).
#include "base/pattern_set.hpp"

#include <algorithm>
#include <bit>

namespace deployd::base {

Automaton::Automaton(std::vector<std::string> patterns) : pending_(std::move(patterns)) {
  nodes_.emplace_back();  // the root: the empty string
}

bool Automaton::build(std::uint64_t budget, std::uint64_t& steps) {
  while (!is_built_ && budget > 0) {
    if (!is_linking_) {
      insert_some(budget, steps);
      continue;
    }
    link_some(budget, steps);
  }
  return is_built_;
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

void Automaton::insert_some(std::uint64_t& budget, std::uint64_t& steps) {
  if (next_pattern_ == pending_.size()) {
    // Every pattern is in the trie: link breadth first from the root's children (fail = root).
    pending_.clear();
    pending_.shrink_to_fit();
    queue_.reserve(nodes_.size());
    for (std::uint32_t c = nodes_[0].first_child; c != kNone; c = nodes_[c].next_sibling)
      queue_.push_back(c);
    is_linking_ = true;
    return;
  }
  std::string& pattern = pending_[next_pattern_];
  for (; at_ < pattern.size() && budget > 0; ++at_, --budget) {
    ++steps;
    const auto byte = static_cast<unsigned char>(pattern[at_]);
    std::uint32_t found = child(at_node_, byte);
    if (found == kNone) {
      found = static_cast<std::uint32_t>(nodes_.size());
      Node added;
      added.byte = byte;
      added.next_sibling = nodes_[at_node_].first_child;
      nodes_.push_back(added);
      nodes_[at_node_].first_child = found;
    }
    at_node_ = found;
  }
  if (at_ < pattern.size()) return;  // out of budget
  // A pattern ends here, unless it is empty or a duplicate.
  if (!pattern.empty() && nodes_[at_node_].longest != pattern.size()) {
    nodes_[at_node_].longest = static_cast<std::uint32_t>(pattern.size());
    bytes_ += pattern.size();
    patterns_.push_back(std::move(pattern));
  }
  ++next_pattern_;
  at_ = 0;
  at_node_ = 0;
}

// Failure links breadth first: a node's suffix is shallower, so it is linked before the node.
void Automaton::link_some(std::uint64_t& budget, std::uint64_t& steps) {
  for (; head_ < queue_.size() && budget > 0; ++head_) {
    const std::uint32_t node = queue_[head_];
    const std::uint64_t before = steps;
    for (std::uint32_t c = nodes_[node].first_child; c != kNone; c = nodes_[c].next_sibling) {
      nodes_[c].fail = next(nodes_[node].fail, nodes_[c].byte, steps);
      nodes_[c].longest = std::max(nodes_[c].longest, nodes_[nodes_[c].fail].longest);
      queue_.push_back(c);
    }
    budget -= std::min(budget, std::max<std::uint64_t>(steps - before, 1));
  }
  if (head_ < queue_.size()) return;
  queue_.clear();
  queue_.shrink_to_fit();
  is_built_ = true;
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
  queue(std::move(patterns));
  build();
}

void PatternSet::queue(std::vector<std::string> patterns) {
  std::size_t bytes = 0;
  for (const std::string& pattern : patterns) bytes += pattern.size();
  constexpr std::size_t kCheckedBytes = std::size_t{1} << 16;
  if (bytes <= kCheckedBytes) {
    std::erase_if(patterns, [this](const std::string& pattern) {
      return pattern.empty() ||
             std::any_of(levels_.begin(), levels_.end(),
                         [&](const Automaton& level) { return level.contains(pattern); });
    });
  }
  if (!patterns.empty()) queued_.push_back(std::move(patterns));
}

void PatternSet::start_next() {
  std::vector<std::string> patterns = std::move(queued_.front());
  queued_.erase(queued_.begin());
  std::size_t bytes = 0;
  for (const std::string& pattern : patterns) bytes += pattern.size();
  // Merge while the next automaton up is not of a larger order of size: each merge at least
  // doubles the order of what it rebuilds, and orders strictly decrease along levels_. The old
  // automata serve scans until the new one is built.
  replaces_ = 0;
  for (auto level = levels_.rbegin();
       level != levels_.rend() && std::bit_width(level->bytes()) <= std::bit_width(bytes);
       ++level) {
    bytes += level->bytes();
    patterns.insert(patterns.end(), level->patterns().begin(), level->patterns().end());
    ++replaces_;
  }
  building_.emplace(std::move(patterns));
}

bool PatternSet::build(std::uint64_t budget) {
  while (budget > 0 && is_building()) {
    if (!building_) start_next();
    const std::uint64_t before = steps_;
    if (building_->build(budget, steps_)) {
      levels_.erase(levels_.end() - static_cast<std::ptrdiff_t>(replaces_), levels_.end());
      levels_.push_back(std::move(*building_));
      building_.reset();
    }
    budget -= std::min(budget, std::max<std::uint64_t>(steps_ - before, 1));
  }
  return !is_building();
}

}  // namespace deployd::base
