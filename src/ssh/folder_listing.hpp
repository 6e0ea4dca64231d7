// SPDX-License-Identifier: MIT
// A remote folder as a recursive put sees it: `find` lists it, `sha256sum` hashes the files that
// may be unchanged. Parsed here for the put (folder_put.cpp) and for --diff (engine).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace deployd::ssh {

/// One entry of a remote folder, as kListFolder lists it.
struct RemoteEntry {
  char type = '?';  ///< d, f, l, ...
  unsigned mode = 0;
  std::uint64_t size = 0;
  std::string owner;  ///< `UID:NAME`
  std::string group;  ///< `GID:NAME`
  std::string hash;   ///< set by add_hashes
};

/// Run in the folder: each entry's type, mode, size, owner, group and path, NUL-terminated, the
/// folder itself first (an empty path).
inline constexpr std::string_view kListFolder = "find . -printf '%y %m %s %U:%u %G:%g %P\\0'";
/// Run in the folder, the NUL-terminated names on stdin: `HASH  NAME\0` for each.
inline constexpr std::string_view kHashFiles = "xargs -0 -r sha256sum -z --";

/// kListFolder's output by path; items that do not parse are left out.
std::map<std::string, RemoteEntry> parse_listing(const std::string& out);

/// Adds kHashFiles's output to the listing.
void add_hashes(std::map<std::string, RemoteEntry>& entries, const std::string& out);

/// True if `wanted` (a name or a number, "" for anyone) names `id` (`NUMBER:NAME`).
bool is_named(const std::string& wanted, const std::string& id);

}  // namespace deployd::ssh
