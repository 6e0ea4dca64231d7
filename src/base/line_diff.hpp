// SPDX-License-Identifier: MIT
// A short unified diff of two lists of lines, to show how an outlier's output differs.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace deployd::base {

/// The hunks of a unified diff from `from` to `to` (`@@ -2 +2 @@`, then ` `, `-` and `+` lines,
/// each without a newline), with `context` unchanged lines around each change. No `---`/`+++`
/// header: the caller says what is compared. nullopt when the inputs are too long to compare
/// cheaply (their line counts multiplied exceed `max_cells`); an empty list when they are equal.
std::optional<std::vector<std::string>> unified_diff(const std::vector<std::string>& from,
                                                     const std::vector<std::string>& to,
                                                     std::size_t context = 1,
                                                     std::size_t max_cells = 1 << 20);

}  // namespace deployd::base
