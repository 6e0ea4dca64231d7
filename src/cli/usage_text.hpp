// SPDX-License-Identifier: MIT
// The command line's own words: usage errors in deployd's style and --help's layout (std only,
// so the unit tests take it without CLI11).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::cli {

/// How every usage error ends: where to read more.
inline constexpr std::string_view kSeeHelp = " (see deployd --help)";

/// `value`'s index in `choices`, given as written (no numbers, no prefixes); else nullopt and
/// `error` says `--output: unknown value "grouped" (did you mean "group"?); expected
/// stream|group|json`.
std::optional<std::size_t> parse_choice(std::string_view option, std::string_view value,
                                        const std::vector<std::string>& choices,
                                        std::string& error);

/// A whole number from 1 to `most` written in decimal; else nullopt and `error` says so.
std::optional<int> parse_count(std::string_view option, std::string_view value, int most,
                               std::string& error);

/// `unknown option "--dryrun" (did you mean "--dry-run"?)`, the closest of `known` (an
/// `--opt=value` is matched on its name).
std::string unknown_option_text(std::string_view arg, const std::vector<std::string>& known);

/// `text`'s words laid out from column `start` (what precedes it on its first line) in lines of
/// at most `width` columns, every line after the first indented by `indent` spaces (a word longer
/// than a line stays whole); ends with a newline.
std::string wrap(std::string_view text, std::size_t indent, std::size_t width,
                 std::size_t start = 0);

/// One --help entry: `  -H, --hosts H1,H2    text`, the text in a column at `column`, on the next
/// line when the left part does not fit before it.
std::string help_entry(std::string_view left, std::string_view text, std::size_t column,
                       std::size_t width);

/// The width --help wraps to: the terminal's, else $COLUMNS, else 80; never under 40.
std::size_t help_width(std::size_t terminal_columns, const char* columns_env);

}  // namespace deployd::cli
