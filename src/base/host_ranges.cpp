// SPDX-License-Identifier: MIT
// Folding host names into ranges (see host_ranges.hpp).
#include "base/host_ranges.hpp"

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <unordered_map>

namespace deployd::base {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// A name cut around its last run of digits.
struct SplitName {
  std::string_view prefix;
  std::string_view digits;  ///< empty: the name has no digits and stands alone
  std::string_view suffix;
};

SplitName split_name(std::string_view name) {
  std::size_t end = name.size();
  while (end > 0 && !is_digit(name[end - 1])) --end;
  std::size_t begin = end;
  while (begin > 0 && is_digit(name[begin - 1])) --begin;
  // More than 18 digits would overflow the value: such a name stands alone.
  if (begin == end || end - begin > 18) return {name, {}, {}};
  return {name.substr(0, begin), name.substr(begin, end - begin), name.substr(end)};
}

struct Number {
  std::uint64_t value = 0;
  std::string_view text;
};

std::uint64_t value_of(std::string_view digits) {
  std::uint64_t value = 0;
  for (char c : digits) value = value * 10 + static_cast<std::uint64_t>(c - '0');
  return value;
}

// `b` continues a range ending in `a`: the next value, written with the same padding (web09 ->
// web10 keeps two digits; 9 -> 10 has none).
bool follows(const Number& a, const Number& b) {
  if (b.value != a.value + 1) return false;
  const bool a_padded = a.text.size() > 1 && a.text[0] == '0';
  const bool b_padded = b.text.size() > 1 && b.text[0] == '0';
  if (a_padded || b_padded) return a.text.size() == b.text.size();
  return true;
}

struct Group {
  std::string prefix;
  std::string suffix;
  std::vector<Number> numbers;  ///< empty for a name without digits
  std::string alone;            ///< that name
};

std::string render(Group& group) {
  if (group.numbers.empty()) return group.alone;
  // By width, then value: numeric order for unpadded numbers, and each padding width together.
  std::sort(group.numbers.begin(), group.numbers.end(), [](const Number& a, const Number& b) {
    return a.text.size() != b.text.size() ? a.text.size() < b.text.size() : a.value < b.value;
  });
  group.numbers.erase(
      std::unique(group.numbers.begin(), group.numbers.end(),
                  [](const Number& a, const Number& b) { return a.text == b.text; }),
      group.numbers.end());
  if (group.numbers.size() == 1) {
    return group.prefix + std::string(group.numbers[0].text) + group.suffix;
  }
  std::string ranges;
  for (std::size_t i = 0; i < group.numbers.size();) {
    std::size_t last = i;
    while (last + 1 < group.numbers.size() &&
           follows(group.numbers[last], group.numbers[last + 1])) {
      ++last;
    }
    if (!ranges.empty()) ranges += ',';
    ranges += group.numbers[i].text;
    if (last > i) ranges += "-" + std::string(group.numbers[last].text);
    i = last + 1;
  }
  return group.prefix + "[" + ranges + "]" + group.suffix;
}

}  // namespace

std::string compress_hosts(const std::vector<std::string>& hosts) {
  std::vector<Group> groups;
  std::unordered_map<std::string, std::size_t> index;  // prefix + '\0' + suffix -> group
  for (const std::string& host : hosts) {
    const SplitName split = split_name(host);
    if (split.digits.empty()) {
      groups.push_back(Group{{}, {}, {}, host});
      continue;
    }
    std::string key = std::string(split.prefix) + '\0' + std::string(split.suffix);
    auto [it, inserted] = index.try_emplace(std::move(key), groups.size());
    if (inserted)
      groups.push_back(Group{std::string(split.prefix), std::string(split.suffix), {}, {}});
    groups[it->second].numbers.push_back(Number{value_of(split.digits), split.digits});
  }
  std::string text;
  for (Group& group : groups) {
    if (!text.empty()) text += ',';
    text += render(group);
  }
  return text;
}

}  // namespace deployd::base
