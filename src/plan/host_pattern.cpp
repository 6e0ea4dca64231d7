// SPDX-License-Identifier: MIT
// Expansion of host ranges and lists, and parsing of `user@name:port`.
#include "plan/host_pattern.hpp"

#include <fmt/format.h>

#include <charconv>

#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

std::optional<long> to_number(std::string_view text) {
  long value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 0)
    return std::nullopt;
  return value;
}

// The alternatives one bracket stands for: `01:03` -> 01 02 03, `a,b` -> a b.
Expansion expand_bracket(std::string_view inside) {
  std::string shown = quote(fmt::format("[{}]", inside));
  std::size_t colon = inside.find(':');
  if (colon == std::string_view::npos) {
    Expansion items;
    for (std::size_t start = 0;;) {
      std::size_t comma = inside.find(',', start);
      std::string_view item = inside.substr(start, comma - start);
      if (!is_valid_name(item))
        return {{}, fmt::format("bad list {}: empty or invalid item", shown)};
      items.names.emplace_back(item);
      if (comma == std::string_view::npos) return items;
      start = comma + 1;
    }
  }
  std::string_view first = inside.substr(0, colon), last = inside.substr(colon + 1);
  std::optional<long> low = to_number(first), high = to_number(last);
  if (!low || !high)
    return {{}, fmt::format("bad range {}: bounds must be whole numbers like [01:20]", shown)};
  if (*low > *high) return {{}, fmt::format("bad range {}: the start is after the end", shown)};
  if (static_cast<std::size_t>(*high - *low) >= kMaxExpansion)
    return {{}, fmt::format("bad range {}: more than {} names", shown, kMaxExpansion)};
  // Zero padding is kept: the width of a start written with a leading zero is the minimum width.
  std::size_t width = first.size() > 1 && first.front() == '0' ? first.size() : 0;
  Expansion numbers;
  for (long n = *low; n <= *high; ++n) numbers.names.push_back(fmt::format("{:0{}}", n, width));
  return numbers;
}

// True if every `[` before `pos` is closed before it.
bool is_outside_brackets(std::string_view text, std::size_t pos) {
  int depth = 0;
  for (std::size_t i = 0; i < pos; ++i) depth += text[i] == '[' ? 1 : text[i] == ']' ? -1 : 0;
  return depth == 0;
}

}  // namespace

bool has_range(std::string_view pattern) { return pattern.find('[') != std::string_view::npos; }

Expansion expand_host_pattern(std::string_view pattern) {
  Expansion result{{""}, ""};
  std::size_t pos = 0;
  while (pos < pattern.size()) {
    std::size_t open = pattern.find('[', pos);
    std::string_view literal = pattern.substr(pos, open - pos);
    if (literal.find(']') != std::string_view::npos)
      return {{}, fmt::format("bad pattern {}: \"]\" without \"[\"", quote(pattern))};
    for (std::string& name : result.names) name += literal;
    if (open == std::string_view::npos) break;
    std::size_t close = pattern.find(']', open);
    std::size_t next_open = pattern.find('[', open + 1);
    if (close == std::string_view::npos || next_open < close)
      return {{}, fmt::format("bad pattern {}: \"[\" without \"]\"", quote(pattern))};
    Expansion alternatives = expand_bracket(pattern.substr(open + 1, close - open - 1));
    if (!alternatives.error.empty()) return alternatives;
    if (result.names.size() * alternatives.names.size() > kMaxExpansion)
      return {{}, fmt::format("bad pattern {}: more than {} names", quote(pattern), kMaxExpansion)};
    std::vector<std::string> combined;
    combined.reserve(result.names.size() * alternatives.names.size());
    for (const std::string& head : result.names)
      for (const std::string& tail : alternatives.names) combined.push_back(head + tail);
    result.names = std::move(combined);
    pos = close + 1;
  }
  for (const std::string& name : result.names)
    if (!is_valid_name(name)) return {{}, fmt::format("invalid host name {}", quote(name))};
  return result;
}

HostSpec parse_host_spec(std::string_view text) {
  HostSpec spec;
  std::size_t at = text.find('@');
  if (at != std::string_view::npos) {
    spec.user = std::string(text.substr(0, at));
    text.remove_prefix(at + 1);
    if (spec.user.empty() || text.find('@') != std::string_view::npos) {
      spec.error = "expected \"name\" or \"user@name:port\"";
      return spec;
    }
  }
  // The port follows the last ':' outside brackets; `web[01:20]` keeps its colon.
  std::size_t colon = text.rfind(':');
  if (colon != std::string_view::npos && is_outside_brackets(text, colon)) {
    std::optional<long> port = to_number(text.substr(colon + 1));
    if (!port || *port < 1 || *port > 65535) {
      spec.error = fmt::format("bad port {}: expected 1 to 65535", quote(text.substr(colon + 1)));
      return spec;
    }
    spec.port = static_cast<int>(*port);
    text = text.substr(0, colon);
  }
  spec.name = std::string(text);
  if (spec.name.empty()) spec.error = "empty host name";
  return spec;
}

bool is_valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace deployd::plan
