// SPDX-License-Identifier: MIT
// Host name patterns: ranges `web[01:20]`, lists `[a,b,c]`, and `user@name:port` strings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::plan {

/// The names a pattern stands for, or why it is malformed.
struct Expansion {
  std::vector<std::string> names;
  std::string error;  ///< empty when the pattern is valid
};

/// Most names one pattern may expand to; a typo like `[1:1000000]` is an error, not a hang.
inline constexpr std::size_t kMaxExpansion = 100'000;

/// True if `pattern` holds a `[` range or list.
bool has_range(std::string_view pattern);

/// Expands every range (`[01:20]`, zero padding kept) and list (`[a,b]`), leftmost varying slowest.
Expansion expand_host_pattern(std::string_view pattern);

/// A host string split into its parts: `user@name:port`, where only `name` is required.
struct HostSpec {
  std::string user;  ///< empty: not given
  std::string name;
  std::optional<int> port;
  std::string error;  ///< empty when the string is valid
};

/// Splits `user@name:port`; a `:` inside a range's brackets belongs to the name.
HostSpec parse_host_spec(std::string_view text);

/// True for names made of letters, digits, `.`, `-` and `_` (what host and group names may use).
bool is_valid_name(std::string_view name);

}  // namespace deployd::plan
