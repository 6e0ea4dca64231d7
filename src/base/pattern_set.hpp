// SPDX-License-Identifier: MIT
// Finding many fixed strings in a text in one pass (Aho-Corasick), for the secret mask.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::base {

/// An Aho-Corasick automaton over a fixed set of byte strings. Building it costs time linear in
/// the strings' total length, a scan time linear in the text: each byte takes amortized O(1)
/// transitions, and a transition looks through at most 256 children. It is built in slices
/// (build()), so a huge set never holds the caller for long.
class Automaton {
 public:
  /// Takes `patterns` (empty ones are skipped, duplicates kept once); build() builds.
  explicit Automaton(std::vector<std::string> patterns);

  /// Builds on for about `budget` transitions (counted into `steps`); true once built.
  bool build(std::uint64_t budget, std::uint64_t& steps);
  bool is_built() const { return is_built_; }

  /// For each end of a match in `text`, calls `on_match(begin, end)` once, with the longest
  /// pattern that ends there (it covers every shorter one ending there). Ends increase.
  /// Only once built.
  template <typename OnMatch>
  void scan(std::string_view text, OnMatch&& on_match, std::uint64_t& steps) const {
    std::uint32_t state = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
      state = next(state, static_cast<unsigned char>(text[i]), steps);
      if (const std::uint32_t length = nodes_[state].longest; length > 0)
        on_match(i + 1 - length, i + 1);
    }
  }

  /// True if `pattern` is one of the strings (not only a part of one). Only once built.
  bool contains(std::string_view pattern) const;
  /// The strings, each once (once built).
  const std::vector<std::string>& patterns() const { return patterns_; }
  /// Their total length in bytes (once built).
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
  /// Inserts bytes of the pattern being inserted until it ends or `budget` runs out.
  void insert_some(std::uint64_t& budget, std::uint64_t& steps);
  /// Links the failure links of queued nodes until none is left or `budget` runs out.
  void link_some(std::uint64_t& budget, std::uint64_t& steps);

  std::vector<Node> nodes_;
  std::vector<std::string> patterns_;
  std::size_t bytes_ = 0;
  // Where the build is: inserting pending_[next_pattern_] from byte at_ (at node at_node_),
  // then linking queue_ from head_.
  std::vector<std::string> pending_;
  std::size_t next_pattern_ = 0;
  std::size_t at_ = 0;
  std::uint32_t at_node_ = 0;
  std::vector<std::uint32_t> queue_;
  std::size_t head_ = 0;
  bool is_linking_ = false;
  bool is_built_ = false;
};

/// A set of strings that grows while texts are scanned: a few automata of geometrically
/// decreasing sizes (the "logarithmic method"). An addition rebuilds only the small ones, so
/// every byte added is rebuilt at most log2(total bytes) times, and a scan is linear in the
/// text for each of at most log2(total bytes) automata. Additions can be queued and built in
/// slices of bounded work (queue(), build()); a scan sees only what is built.
class PatternSet {
 public:
  static constexpr std::uint64_t kNoLimit = UINT64_MAX;

  /// Adds `patterns` (empty ones and known ones are skipped) and builds them now.
  void add(std::vector<std::string> patterns);
  /// Queues `patterns` for build(); known ones are skipped when the addition is small (checking
  /// a huge one would be unbounded work; a duplicate costs only memory).
  void queue(std::vector<std::string> patterns);
  /// Builds queued additions, in order, for about `budget` transitions; true when all are built.
  bool build(std::uint64_t budget = kNoLimit);
  bool is_building() const { return building_.has_value() || !queued_.empty(); }
  /// True when nothing is built (or queued).
  bool empty() const { return levels_.empty() && !is_building(); }

  /// Every match of every built automaton, as in Automaton::scan (ends increase per automaton).
  template <typename OnMatch>
  void scan(std::string_view text, OnMatch&& on_match) const {
    for (const Automaton& level : levels_) level.scan(text, on_match, steps_);
  }

  /// Transitions taken so far, building and scanning: tests check the work is linear.
  std::uint64_t steps() const { return steps_; }
  std::size_t levels() const { return levels_.size(); }

 private:
  /// Starts building the first queued addition, merged with the small automata it replaces.
  void start_next();

  std::vector<Automaton> levels_;  ///< built; their sizes' bit widths strictly decrease
  std::vector<std::vector<std::string>> queued_;
  std::optional<Automaton> building_;  ///< replaces the last `replaces_` levels once built
  std::size_t replaces_ = 0;
  mutable std::uint64_t steps_ = 0;
};

}  // namespace deployd::base
