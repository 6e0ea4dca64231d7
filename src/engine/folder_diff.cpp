// SPDX-License-Identifier: MIT
// --diff of a recursive put: what the put's own comparison (ssh/folder_put.cpp) would find,
// entry by entry, with a unified diff of the text files that changed.
#include "engine/folder_diff.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "engine/file_diff.hpp"
#include "engine/remote_command.hpp"

namespace deployd::engine {
namespace {

// Past this many changed files a folder's diff lists them without their lines.
constexpr int kShownFileDiffs = 20;
// Past this many changes the rest are counted, not listed.
constexpr std::size_t kListedChanges = 500;
// The listing command's exit status for a path that is not a folder (kAbsentStatus: none).
constexpr int kNotFolder = 45;
// A listing of a million entries is ~40 MiB: more is not believed.
constexpr std::size_t kMaxListing = 64 << 20;

std::string octal(unsigned mode) { return fmt::format("{:04o}", mode & 07777); }

const char* kind_name(char type) {
  switch (type) {
    case 'd':
      return "a folder";
    case 'f':
      return "a file";
    case 'l':
      return "a symlink";
    default:
      return "a special file";
  }
}

// What differs between a remote entry and the planned one, besides the content.
std::vector<std::string> attribute_changes(const ssh::RemoteEntry& there, unsigned mode,
                                           const std::string& owner, const std::string& group) {
  std::vector<std::string> changes;
  if ((there.mode & 07777) != mode)
    changes.push_back(fmt::format("mode {} -> {}", octal(there.mode), octal(mode)));
  if (!ssh::is_named(owner, there.owner))
    changes.push_back(fmt::format("owner {} -> {}", there.owner, owner));
  if (!ssh::is_named(group, there.group))
    changes.push_back(fmt::format("group {} -> {}", there.group, group));
  return changes;
}

// True if a folder of `folders` holds `path`.
bool is_in_any(const std::string& path, const std::set<std::string>& folders) {
  for (auto slash = path.rfind('/'); slash != std::string::npos && slash > 0;
       slash = path.rfind('/', slash - 1))
    if (folders.count(path.substr(0, slash))) return true;
  return false;
}

}  // namespace

std::vector<FolderChange> folder_changes(const ssh::SourceTree& tree, unsigned top_mode,
                                         const std::map<std::string, ssh::RemoteEntry>& remote,
                                         const std::string& owner, const std::string& group) {
  std::vector<FolderChange> changes;
  if (auto top = remote.find(""); top != remote.end()) {
    std::vector<std::string> what = attribute_changes(top->second, top_mode, owner, group);
    if (!what.empty())
      changes.push_back(
          {FolderChange::Kind::Changed, "", fmt::format("{}", fmt::join(what, ", "))});
  }
  std::set<std::string> planned;
  for (const ssh::SourceTree::Entry& entry : tree.entries) {
    planned.insert(entry.path);
    auto found = remote.find(entry.path);
    if (found == remote.end()) {
      changes.push_back({FolderChange::Kind::Added, entry.path,
                         entry.is_folder ? std::string("new folder")
                                         : fmt::format("new file, {} bytes", entry.file->size())});
      continue;
    }
    const ssh::RemoteEntry& there = found->second;
    const char wanted = entry.is_folder ? 'd' : 'f';
    if (there.type != wanted) {
      changes.push_back(
          {FolderChange::Kind::Changed, entry.path,
           fmt::format("{} on the host, {} planned", kind_name(there.type), kind_name(wanted))});
      continue;
    }
    std::vector<std::string> what = attribute_changes(there, entry.mode, owner, group);
    const bool is_content = !entry.is_folder && (there.size != entry.file->size() ||
                                                 there.hash != entry.file->sha256());
    if (is_content) what.insert(what.begin(), "content");
    if (!what.empty())
      changes.push_back({FolderChange::Kind::Changed, entry.path,
                         fmt::format("{}", fmt::join(what, ", ")), is_content});
  }
  // The put replaces the folder: what only the host has goes, a folder with all it holds.
  std::set<std::string> removed_folders;
  for (const auto& [path, there] : remote) {
    if (path.empty() || planned.count(path) || is_in_any(path, removed_folders)) continue;
    changes.push_back({FolderChange::Kind::Removed, path,
                       there.type == 'd' ? "folder and all it holds" : kind_name(there.type)});
    if (there.type == 'd') removed_folders.insert(path);
  }
  std::sort(changes.begin(), changes.end(),
            [](const FolderChange& a, const FolderChange& b) { return a.path < b.path; });
  return changes;
}

std::string folder_contents(const std::string& source) {
  ssh::SourceCache cache;
  auto opened = ssh::SourceTree::open(source, cache);
  if (auto* error = std::get_if<std::string>(&opened)) return fmt::format("    ({})\n", *error);
  const ssh::SourceTree& tree = *std::get<std::shared_ptr<ssh::SourceTree>>(opened);
  std::string out =
      fmt::format("    {} files and folders, {} bytes:\n", tree.entries.size(), tree.bytes);
  for (std::size_t i = 0; i < tree.entries.size() && i < kListedChanges; ++i) {
    const ssh::SourceTree::Entry& entry = tree.entries[i];
    out += entry.is_folder ? fmt::format("    | {}/ ({})\n", entry.path, octal(entry.mode))
                           : fmt::format("    | {} ({}, {} bytes)\n", entry.path, octal(entry.mode),
                                         entry.file->size());
  }
  if (tree.entries.size() > kListedChanges)
    out += fmt::format("    ... and {} more\n", tree.entries.size() - kListedChanges);
  return out;
}

namespace {

// The listing (and, for the files whose size matches, the hashes) of the folder on the host.
struct Listing {
  std::map<std::string, ssh::RemoteEntry> entries;
  bool is_absent = false;
  std::string error;
};

boost::asio::awaitable<Listing> list_folder(Connection& connection, const FolderPlan& folder) {
  const std::string target = shell_quote(folder.target);
  Listing listing;
  RemoteRead read = co_await run_read_only(
      connection,
      fmt::format("if [ -d {0} ]; then cd -P -- {0} && {1}; elif [ -e {0} ] || [ -L {0} ]; then "
                  "exit {2}; else exit {3}; fi",
                  target, ssh::kListFolder, kNotFolder, kAbsentStatus),
      folder.sudo_user, "", kMaxListing);
  if (read.status == kAbsentStatus) {
    listing.is_absent = true;
    co_return listing;
  }
  if (read.status == kNotFolder) {
    listing.error = "it exists and is not a folder: the put would fail";
    co_return listing;
  }
  if (read.status != 0 || read.is_cut) {
    listing.error = read.is_cut   ? fmt::format("its listing is larger than {} bytes", kMaxListing)
                    : read.status ? fmt::format("find exited with status {}", *read.status)
                                  : read.error;
    co_return listing;
  }
  listing.entries = ssh::parse_listing(read.out);
  std::string candidates;
  for (const ssh::SourceTree::Entry& entry : folder.tree->entries) {
    auto found = listing.entries.find(entry.path);
    if (!entry.is_folder && found != listing.entries.end() && found->second.type == 'f' &&
        found->second.size == entry.file->size())
      candidates += entry.path + '\0';
  }
  if (candidates.empty()) co_return listing;
  read =
      co_await run_read_only(connection, fmt::format("cd -P -- {} && {}", target, ssh::kHashFiles),
                             folder.sudo_user, std::move(candidates), kMaxListing);
  if (read.status != 0) {
    listing.error =
        read.status ? fmt::format("sha256sum exited with status {}", *read.status) : read.error;
    co_return listing;
  }
  ssh::add_hashes(listing.entries, read.out);
  co_return listing;
}

std::string change_line(const FolderChange& change) {
  const char mark = change.kind == FolderChange::Kind::Added     ? '+'
                    : change.kind == FolderChange::Kind::Removed ? '-'
                                                                 : '~';
  return fmt::format("    {} {} ({}{})\n", mark, change.path.empty() ? "." : change.path,
                     change.detail, change.kind == FolderChange::Kind::Removed ? ", removed" : "");
}

}  // namespace

boost::asio::awaitable<FolderDiff> diff_folder(Connection& connection, const std::string& host,
                                               const FolderPlan& folder) {
  FolderDiff diff;
  Listing listing = co_await list_folder(connection, folder);
  if (!listing.error.empty()) {
    diff.error = std::move(listing.error);
    co_return diff;
  }
  std::vector<FolderChange> changes =
      folder_changes(*folder.tree, folder.top_mode, listing.entries, folder.owner, folder.group);
  if (listing.is_absent)
    changes.insert(changes.begin(), {FolderChange::Kind::Added, "", "new folder"});
  std::set<std::string> seen;
  for (const auto& entry : folder.tree->entries) seen.insert(entry.path);
  for (const auto& [path, there] : listing.entries)
    if (!path.empty()) seen.insert(path);
  diff.compared = static_cast<int>(seen.size()) + 1;  // and the folder itself
  diff.would_change = static_cast<int>(changes.size());
  int shown_diffs = 0;
  for (std::size_t i = 0; i < changes.size() && i < kListedChanges; ++i) {
    const FolderChange& change = changes[i];
    diff.text += change_line(change);
    if (!change.is_content) continue;
    if (++shown_diffs > kShownFileDiffs) continue;
    const std::string path = folder.target + "/" + change.path;
    auto entry = std::find_if(folder.tree->entries.begin(), folder.tree->entries.end(),
                              [&](const auto& e) { return e.path == change.path; });
    const std::string planned(entry->file->bytes());
    std::string error;
    std::optional<std::string> current =
        co_await read_remote_file(connection, path, folder.sudo_user, planned.size(), error);
    diff.text += error.empty() ? file_diff(host, path, current, planned)
                               : fmt::format("    cannot read {}: {}\n", path, error);
  }
  if (changes.size() > kListedChanges)
    diff.text += fmt::format("    ... and {} more changes\n", changes.size() - kListedChanges);
  if (shown_diffs > kShownFileDiffs)
    diff.text += fmt::format("    ({} more files differ: their lines are not shown)\n",
                             shown_diffs - kShownFileDiffs);
  co_return diff;
}

}  // namespace deployd::engine
