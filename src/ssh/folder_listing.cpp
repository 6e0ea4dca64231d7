// SPDX-License-Identifier: MIT
// Parsing what `find -printf` and `sha256sum -z` say about a remote folder.
#include "ssh/folder_listing.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <vector>

namespace deployd::ssh {

bool is_named(const std::string& wanted, const std::string& id) {
  if (wanted.empty()) return true;
  const auto colon = id.find(':');
  return wanted == id.substr(0, colon) ||
         (colon != std::string::npos && wanted == id.substr(colon + 1));
}

namespace {

// The NUL-terminated items of `out` (the last one may lack its NUL).
std::vector<std::string_view> items_of(std::string_view out) {
  std::vector<std::string_view> items;
  while (!out.empty()) {
    const auto end = std::min(out.find('\0'), out.size());
    items.push_back(out.substr(0, end));
    out.remove_prefix(std::min(end + 1, out.size()));
  }
  return items;
}

}  // namespace

std::map<std::string, RemoteEntry> parse_listing(const std::string& out) {
  std::map<std::string, RemoteEntry> entries;
  for (const std::string_view item : items_of(out)) {
    RemoteEntry entry;
    std::array<std::size_t, 5> space{};
    std::size_t from = 0;
    bool is_whole = true;
    for (std::size_t& at : space) {
      at = item.find(' ', from);
      is_whole = is_whole && at != std::string::npos;
      from = at + 1;
    }
    if (!is_whole || space[0] != 1) continue;
    entry.type = item[0];
    // A hostile host's listing is data: numbers that do not parse drop the item, never throw.
    const char* text = item.data();
    const auto mode = std::from_chars(text + 2, text + space[1], entry.mode, 8);
    const auto size = std::from_chars(text + space[1] + 1, text + space[2], entry.size);
    if (mode.ec != std::errc() || mode.ptr != text + space[1] || size.ec != std::errc() ||
        size.ptr != text + space[2])
      continue;
    entry.owner = item.substr(space[2] + 1, space[3] - space[2] - 1);
    entry.group = item.substr(space[3] + 1, space[4] - space[3] - 1);
    entries[std::string(item.substr(space[4] + 1))] = entry;
  }
  return entries;
}

void add_hashes(std::map<std::string, RemoteEntry>& entries, const std::string& out) {
  for (const std::string_view item : items_of(out)) {
    if (item.size() < 66 || item.substr(64, 2) != "  ") continue;
    auto found = entries.find(std::string(item.substr(66)));
    if (found != entries.end()) found->second.hash = item.substr(0, 64);
  }
}

}  // namespace deployd::ssh
