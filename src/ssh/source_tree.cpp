// SPDX-License-Identifier: MIT
// Local folders for a recursive `put` (issue 18): walked once, folders and regular files only.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "ssh/sftp.hpp"

namespace deployd::ssh {
namespace {

namespace fs = std::filesystem;

/// What a non-regular, non-folder entry is, for the refusal.
std::string kind_of(const struct stat& st) {
  if (S_ISLNK(st.st_mode)) return "a symlink";
  if (S_ISFIFO(st.st_mode)) return "a FIFO";
  if (S_ISSOCK(st.st_mode)) return "a socket";
  if (S_ISCHR(st.st_mode)) return "a character device";
  if (S_ISBLK(st.st_mode)) return "a block device";
  return "not a regular file";
}

struct Walk {
  SourceTree& tree;
  SourceCache& cache;
  const std::string& root;
  std::string error;

  /// Adds what `folder` (relative; "" for the root) holds, sorted by name, each folder before
  /// its content; false with `error` at the first entry that cannot be sent.
  bool add(const std::string& folder, int depth) {
    if (depth > 64)
      return fail("\"" + root + "/" + folder + "\" is nested more than 64 folders deep");
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(root + "/" + folder, ec), end; !ec && it != end;
         it.increment(ec))
      names.push_back(it->path().filename().string());
    if (ec)
      return fail("cannot read local folder \"" + root + "/" + folder + "\": " + ec.message());
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      const std::string relative = folder.empty() ? name : folder + "/" + name;
      const std::string path = root + "/" + relative;
      struct stat st {};
      if (::lstat(path.c_str(), &st) != 0)
        return fail("cannot read local file \"" + path + "\": " + std::strerror(errno));
      if (S_ISDIR(st.st_mode)) {
        tree.entries.push_back(
            {relative, true, static_cast<unsigned>(st.st_mode & 07777), nullptr});
        if (!add(relative, depth + 1)) return false;
      } else if (S_ISREG(st.st_mode)) {
        auto opened = cache.open(path);
        if (auto* message = std::get_if<std::string>(&opened)) return fail(*message);
        auto file = std::get<std::shared_ptr<SourceFile>>(std::move(opened));
        tree.bytes += file->size();
        tree.entries.push_back({relative, false, file->mode() & 0777, std::move(file)});
      } else {
        return fail("\"" + path + "\" is " + kind_of(st) + ": a recursive put sends folders and " +
                    "regular files only");
      }
    }
    return true;
  }

  bool fail(std::string message) {
    error = std::move(message);
    return false;
  }
};

}  // namespace

std::variant<std::shared_ptr<SourceTree>, std::string> SourceTree::open(const std::string& path,
                                                                        SourceCache& cache) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return "cannot read local folder \"" + path + "\": " + std::strerror(errno);
  if (!S_ISDIR(st.st_mode)) return "local path \"" + path + "\" is not a folder";
  auto tree = std::make_shared<SourceTree>();
  tree->mode = st.st_mode & 07777;
  std::string root = path;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  Walk walk{*tree, cache, root, {}};
  if (!walk.add("", 0)) return walk.error;
  return tree;
}

}  // namespace deployd::ssh
