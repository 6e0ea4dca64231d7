// SPDX-License-Identifier: MIT
// "Did you mean": the closest name by edit distance, for keys, tasks, hosts, groups, vars and
// flags.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::plan {

/// Edits (insert, delete, replace, swap of neighbours) that turn `a` into `b`.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` if it is close enough to be a likely typo; empty if none.
/// Ties go to the earlier candidate.
std::string suggest(std::string_view word, const std::vector<std::string>& candidates);

/// ` (did you mean "run"?)` for the closest candidate, or "" when none is close.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

/// `text` as a JSON string literal, the way messages quote user values; bad UTF-8 becomes U+FFFD,
/// and no control character (C0, DEL, C1) is left as it is.
std::string quote(std::string_view text);

}  // namespace deployd::plan
