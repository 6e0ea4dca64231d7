// SPDX-License-Identifier: MIT
// Fuzz target: host patterns (`web[01:10]`, `[a,b]`, `user@name:port`) and the reverse,
// compress_hosts folding names back into `web[01-05,07]`. The first line of the input is a
// pattern; every line is also a host name for the fold.
#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/host_ranges.hpp"
#include "fuzz_check.hpp"
#include "plan/host_pattern.hpp"

namespace {

using namespace deployd::plan;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Splits `text` at each `separator` that is not inside brackets.
std::vector<std::string_view> split_outside_brackets(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    depth += text[i] == '[' ? 1 : text[i] == ']' ? -1 : 0;
    if (text[i] == separator && depth == 0) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(text.substr(start));
  return parts;
}

// The value of `digits` + `step`, written as wide as `digits` (zero padding, as compress_hosts
// promises: a range's ends are written with the same width when padded).
std::string successor(std::string digits) {
  for (std::size_t i = digits.size(); i-- > 0;) {
    if (digits[i] != '9') {
      ++digits[i];
      return digits;
    }
    digits[i] = '0';
  }
  return "1" + digits;
}

// Reads compress_hosts' output back into names (the model of its format: `prefix[a-b,c]suffix`
// items joined by commas; a range's numbers keep the width of its first end when padded).
std::set<std::string> unfold(std::string_view text) {
  std::set<std::string> names;
  if (text.empty()) return names;
  for (std::string_view item : split_outside_brackets(text, ',')) {
    const std::size_t open = item.find('[');
    if (open == std::string_view::npos) {
      FUZZ_CHECK(!item.empty() && item.find(']') == std::string_view::npos);
      names.emplace(item);
      continue;
    }
    const std::size_t close = item.find(']', open);
    FUZZ_CHECK(close != std::string_view::npos);
    const std::string_view prefix = item.substr(0, open), suffix = item.substr(close + 1);
    FUZZ_CHECK(suffix.find('[') == std::string_view::npos);
    for (std::string_view range :
         split_outside_brackets(item.substr(open + 1, close - open - 1), ',')) {
      const std::size_t dash = range.find('-');
      std::string first(range.substr(0, dash));
      const std::string last(dash == std::string_view::npos ? range : range.substr(dash + 1));
      FUZZ_CHECK(!first.empty() && !last.empty());
      FUZZ_CHECK(std::all_of(first.begin(), first.end(), is_digit));
      FUZZ_CHECK(std::all_of(last.begin(), last.end(), is_digit));
      FUZZ_CHECK(first.size() <= last.size());
      for (std::size_t guard = 0;; ++guard) {
        FUZZ_CHECK(guard <= 200'000);  // the fold never writes a range its input did not hold
        names.insert(std::string(prefix) + first + std::string(suffix));
        if (first == last) break;
        // Unpadded numbers grow a digit (9 -> 10); padded ones keep their width.
        const bool padded = first.size() > 1 && first[0] == '0';
        std::string next = successor(first);
        if (padded) FUZZ_CHECK(next.size() == first.size());
        first = std::move(next);
        FUZZ_CHECK(first.size() <= last.size());
      }
    }
  }
  return names;
}

void check_fold(const std::vector<std::string>& hosts) {
  const std::string folded = deployd::base::compress_hosts(hosts);
  FUZZ_CHECK(unfold(folded) == std::set<std::string>(hosts.begin(), hosts.end()));
}

void check_expansion(std::string_view pattern) {
  const Expansion expansion = expand_host_pattern(pattern);
  if (!expansion.error.empty()) {
    FUZZ_CHECK(expansion.names.empty());
    return;
  }
  FUZZ_CHECK(!expansion.names.empty() && expansion.names.size() <= kMaxExpansion);
  for (const std::string& name : expansion.names) FUZZ_CHECK(is_valid_name(name));
  if (!has_range(pattern))
    FUZZ_CHECK(expansion.names == std::vector<std::string>{std::string(pattern)});
  // Folding the names back and reading the fold gives the same set.
  if (expansion.names.size() <= 5'000) check_fold(expansion.names);
}

// A valid spec written back as `user@name:port` parses to the same parts.
void check_host_spec(std::string_view text) {
  const HostSpec spec = parse_host_spec(text);
  if (!spec.error.empty()) return;
  FUZZ_CHECK(!spec.name.empty());
  FUZZ_CHECK(!spec.port || (*spec.port >= 1 && *spec.port <= 65535));
  std::string written = spec.user.empty() ? spec.name : spec.user + "@" + spec.name;
  if (spec.port) written += ":" + std::to_string(*spec.port);
  const HostSpec again = parse_host_spec(written);
  FUZZ_CHECK(again.error.empty());
  FUZZ_CHECK(again.user == spec.user && again.name == spec.name && again.port == spec.port);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> hosts;
  for (std::size_t start = 0; start <= input.size();) {
    std::size_t end = std::min(input.find('\n', start), input.size());
    std::string_view line = input.substr(start, end - start);
    if (start == 0) {
      check_expansion(line);
      check_host_spec(line);
    }
    if (is_valid_name(line)) hosts.emplace_back(line);  // what a plan's host names may be
    start = end + 1;
  }
  check_fold(hosts);
  return 0;
}
