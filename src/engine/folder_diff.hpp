// SPDX-License-Identifier: MIT
// --diff of a recursive put (issue 18): the local folder against the host's, entry by entry.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "async/awaitable.hpp"
#include "engine/transport.hpp"
#include "ssh/folder_listing.hpp"
#include "ssh/sftp.hpp"

namespace deployd::engine {

/// One entry that a recursive put would change. `path` is relative to the folder ("" for the
/// folder itself).
struct FolderChange {
  enum class Kind { Added, Removed, Changed };
  Kind kind = Kind::Changed;
  std::string path;
  std::string detail;       ///< `new file, 120 bytes`, `content`, `mode 0600 -> 0644`, ...
  bool is_content = false;  ///< Changed: the bytes differ (a file on both sides)
};

/// What installing `tree` at a folder whose listing (ssh::kListFolder, with ssh::kHashFiles'
/// hashes for files whose size matches) is `remote` would change, sorted by path. The folder
/// itself gets `top_mode`; `owner`/`group` ("" for anyone) apply to every entry. A removed
/// folder stands for everything in it.
std::vector<FolderChange> folder_changes(const ssh::SourceTree& tree, unsigned top_mode,
                                         const std::map<std::string, ssh::RemoteEntry>& remote,
                                         const std::string& owner, const std::string& group);

/// What --dry-run --show-files prints for a recursive put of the local folder `source`: each
/// folder and file in it with its mode (and size), at most 500 lines, or why it cannot be read.
std::string folder_contents(const std::string& source);

/// A recursive put's folder on a host, and where it goes.
struct FolderPlan {
  const ssh::SourceTree* tree = nullptr;
  std::string target;  ///< the remote folder, cd applied
  unsigned top_mode = 0755;
  std::optional<std::string> sudo_user;  ///< read as this user ("": root)
  std::string owner;
  std::string group;
};

/// What a --diff prints for one folder on one host, and its counts.
struct FolderDiff {
  std::string text;      ///< lines after the step's title line, indented
  int compared = 0;      ///< entries looked at, local and remote
  int would_change = 0;  ///< entries added, removed or changed
  std::string error;     ///< the folder could not be read: nothing else is set
};

/// Lists (and hashes) `folder.target` on the host, compares it with the local tree, and shows a
/// unified diff of up to kShownFileDiffs changed text files.
boost::asio::awaitable<FolderDiff> diff_folder(Connection& connection, const std::string& host,
                                               const FolderPlan& folder);

}  // namespace deployd::engine
