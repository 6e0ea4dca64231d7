// SPDX-License-Identifier: MIT
// Finding many fixed strings in a text in one pass (Aho-Corasick), for the secret mask.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::report {

/// An Aho-Corasick automaton over a fixed set of byte strings. Building it costs time linear in
/// the strings' total length, a scan time linear in the text: each byte takes amortized O(1)
/// transitions, and a transition looks through at most 256 children.
class Automaton {
 public:
  /// Builds over `patterns` (empty ones are skipped, duplicates kept once).
  explicit Automaton(std::vector<std::string> patterns, std::uint64_t& steps);

  /// For each end of a match in `text`, calls `on_match(begin, end)` once, with the longest
  /// pattern that ends there (it covers every shorter one ending there). Ends increase.
  template <typename OnMatch>
  void scan(std::string_view text, OnMatch&& on_match, std::uint64_t& steps) const {
    std::uint32_t state = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      state = next(state, static_cast<unsigned char>(text[i]), steps);
      if (const std::uint32_t length = nodes_[state].longest; length > 0)
        on_match(i + 1 - length, i + 1);
    }
  }

  /// True if `pattern` is one of the strings (not only a part of one).
  bool contains(std::string_view pattern) const;
  /// The strings, each once.
  const std::vector<std::string>& patterns() const { return patterns_; }
  /// Their total length in bytes.
  std::size_t bytes() const { return bytes_; }

 private:
  static constexpr std::uint32_t kNone = UINT32_MAX;
  struct Node {
    std::uint32_t first_child = kNone;
    std::uint32_t next_sibling = kNone;
    std::uint32_t fail = 0;     ///< the longest proper suffix of this node's string in the trie
    std::uint32_t longest = 0;  ///< the longest string of the set that ends this node's string
    unsigned char byte = 0;     ///< the label of the edge from the parent
  };

  std::uint32_t child(std::uint32_t node, unsigned char byte) const;
  /// The state after `byte`: the child, else the child of the longest suffix that has one.
  std::uint32_t next(std::uint32_t state, unsigned char byte, std::uint64_t& steps) const;
  void insert(std::string pattern, std::uint64_t& steps);
  void link(std::uint64_t& steps);

  std::vector<Node> nodes_;
  std::vector<std::string> patterns_;
  std::size_t bytes_ = 0;
};

/// A set of strings that grows while texts are scanned: a few automata of geometrically
/// decreasing sizes (the "logarithmic method"). An addition rebuilds only the small ones, so
/// every byte added is rebuilt at most log2(total bytes) times, and a scan is linear in the
/// text for each of at most log2(total bytes) automata.
class PatternSet {
 public:
  /// Adds `patterns` (empty ones and known ones are skipped).
  void add(std::vector<std::string> patterns);
  bool empty() const { return levels_.empty(); }

  /// Every match of every automaton, as in Automaton::scan (ends increase per automaton only).
  template <typename OnMatch>
  void scan(std::string_view text, OnMatch&& on_match) const {
    for (const Automaton& level : levels_) level.scan(text, on_match, steps_);
  }

  /// Transitions taken so far, building and scanning: tests check the work is linear.
  std::uint64_t steps() const { return steps_; }
  std::size_t levels() const { return levels_.size(); }

 private:
  std::vector<Automaton> levels_;  ///< their sizes' bit widths strictly decrease
  mutable std::uint64_t steps_ = 0;
};

}  // namespace deployd::report
