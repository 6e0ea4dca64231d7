// SPDX-License-Identifier: MIT
// Longest common subsequence over lines, then hunks as `diff -U` prints them (see line_diff.hpp).
#include "base/line_diff.hpp"

#include <algorithm>
#include <cstdint>

namespace deployd::base {
namespace {

enum class Op : char { Same = ' ', Remove = '-', Add = '+' };

struct Edit {
  Op op;
  std::size_t from_line;  ///< 0-based position in `from` of this line (or where it would go)
  std::size_t to_line;
  const std::string* text;
};

// The edit script by dynamic programming: the inputs are digests of a few KiB, bounded by the
// caller's max_cells, so O(n*m) is both simple and cheap enough.
std::vector<Edit> edit_script(const std::vector<std::string>& a,
                              const std::vector<std::string>& b) {
  const std::size_t n = a.size();
  const std::size_t m = b.size();
  std::vector<std::uint32_t> lcs((n + 1) * (m + 1), 0);
  auto at = [&](std::size_t i, std::size_t j) -> std::uint32_t& { return lcs[i * (m + 1) + j]; };
  for (std::size_t i = n; i-- > 0;) {
    for (std::size_t j = m; j-- > 0;) {
      at(i, j) = a[i] == b[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
    }
  }
  std::vector<Edit> edits;
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      edits.push_back({Op::Same, i, j, &a[i]});
      ++i, ++j;
    } else if (i < n && (j == m || at(i + 1, j) >= at(i, j + 1))) {
      edits.push_back({Op::Remove, i, j, &a[i]});  // removals first, as diff prints them
      ++i;
    } else {
      edits.push_back({Op::Add, i, j, &b[j]});
      ++j;
    }
  }
  return edits;
}

// `-3,2`: diff's range form, where a count of 1 is left out and an empty range names the line
// before it.
std::string range(std::size_t start, std::size_t count) {
  if (count == 1) return std::to_string(start + 1);
  return std::to_string(count == 0 ? start : start + 1) + "," + std::to_string(count);
}

}  // namespace

std::optional<std::vector<std::string>> unified_diff(const std::vector<std::string>& from,
                                                     const std::vector<std::string>& to,
                                                     std::size_t context, std::size_t max_cells) {
  if ((from.size() + 1) * (to.size() + 1) > max_cells) return std::nullopt;
  const std::vector<Edit> edits = edit_script(from, to);
  std::vector<std::string> lines;
  std::size_t k = 0;
  while (k < edits.size()) {
    if (edits[k].op == Op::Same) {
      ++k;
      continue;
    }
    // A hunk: from `context` lines before this change to `context` lines after the last change
    // that is no more than 2 * context unchanged lines away.
    const std::size_t begin = k >= context ? k - context : 0;
    std::size_t end = k;
    std::size_t same_run = 0;
    for (std::size_t e = k; e < edits.size(); ++e) {
      if (edits[e].op != Op::Same) {
        end = e + 1;
        same_run = 0;
      } else if (++same_run > 2 * context) {
        break;
      }
    }
    end = std::min(edits.size(), end + context);
    std::size_t from_count = 0;
    std::size_t to_count = 0;
    for (std::size_t e = begin; e < end; ++e) {
      from_count += edits[e].op != Op::Add;
      to_count += edits[e].op != Op::Remove;
    }
    lines.push_back("@@ -" + range(edits[begin].from_line, from_count) + " +" +
                    range(edits[begin].to_line, to_count) + " @@");
    for (std::size_t e = begin; e < end; ++e) {
      lines.push_back(static_cast<char>(edits[e].op) + *edits[e].text);
    }
    k = end;
  }
  return lines;
}

}  // namespace deployd::base
