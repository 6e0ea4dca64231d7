// SPDX-License-Identifier: MIT
// Tests of src/base/pattern_set.cpp: every match found, in work linear in what is scanned.
#include "base/pattern_set.hpp"

#include <doctest/doctest.h>
#include <fmt/format.h>

#include <string>
#include <utility>
#include <vector>

namespace deployd::base {
namespace {

using Matches = std::vector<std::pair<std::size_t, std::size_t>>;

Matches matches(const PatternSet& set, std::string_view text) {
  Matches found;
  set.scan(text, [&](std::size_t begin, std::size_t end) { found.emplace_back(begin, end); });
  return found;
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("pattern set: the longest pattern ending at each position, overlaps included") {
    PatternSet set;
    set.add({"he", "she", "his", "hers", ""});
    // "ushers": she ends at 4 (he too, shorter), hers at 6.
    CHECK(matches(set, "ushers") == Matches{{1, 4}, {2, 6}});
    CHECK(matches(set, "nothing") == Matches{});
    CHECK(matches(set, "") == Matches{});
  }

  TEST_CASE("pattern set: additions merge into few automata and known patterns are skipped") {
    PatternSet set;
    for (int i = 0; i < 1000; ++i) set.add({fmt::format("value-{:04}", i)});
    CHECK(set.levels() <= 14);  // log2 of the bytes added
    CHECK(matches(set, "x value-0007 y value-0999") == Matches{{2, 12}, {15, 25}});
    const std::uint64_t before = set.steps();
    set.add({"value-0007"});
    CHECK(set.steps() == before);  // nothing was rebuilt
  }

  TEST_CASE("pattern set: building and scanning take work linear in their sizes") {
    // The case of issue 16: a secret of 160,000 lines. The old mask searched the text once per
    // line of the secret; here each byte built or scanned costs a bounded number of transitions.
    std::string secret;
    std::vector<std::string> lines;
    for (int i = 0; i < 160'000; ++i) {
      lines.push_back(fmt::format("{:06}", i * 7));
      secret += lines.back() + "\n";
    }
    PatternSet set;
    set.add(lines);
    const std::uint64_t built = set.steps();
    // One per byte inserted; per node one lookup, plus fallbacks along failure links, which
    // along each pattern are at most its length.
    CHECK(built <= 3 * secret.size());
    CHECK(set.levels() == 1);

    std::string text;
    for (int i = 0; i < 50'000; ++i) text += fmt::format("{:06} ", i * 3);
    std::size_t found = 0;
    set.scan(text, [&](std::size_t, std::size_t) { ++found; });
    CHECK(found > 0);
    // A scan moves forward once per byte and falls back along failure links at most as often.
    CHECK(set.steps() - built <= 2 * text.size());
  }
}

}  // namespace deployd::base
