// SPDX-License-Identifier: MIT
// See private_folder.hpp.
#include "report/private_folder.hpp"

#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "report/path_text.hpp"

namespace deployd::report {

namespace fs = std::filesystem;

namespace {

std::string user_name(uid_t uid) {
  const struct passwd* entry = ::getpwuid(uid);
  return entry != nullptr ? fmt::format("{} ({})", uid, entry->pw_name) : std::to_string(uid);
}

// The folder `st` itself: ours, and only ours to write.
std::string unsafe_own_folder(const struct stat& st, const fs::path& path) {
  if (!S_ISDIR(st.st_mode)) return fmt::format("{} is not a folder", quoted_path(path));
  if (st.st_uid != ::geteuid())
    return fmt::format(
        "run log folder {} belongs to uid {}, not to you (uid {}): another user could "
        "forge or redirect the run log: remove it",
        quoted_path(path), user_name(st.st_uid), ::geteuid());
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return fmt::format(
        "run log folder {} is writable by other users (mode {:04o}): fix it with "
        "`chmod go-w {}`",
        quoted_path(path), st.st_mode & 07777, quoted_path(path));
  return {};
}

// A folder above it: whoever can rename entries in it can swap the run log folder.
std::string unsafe_parent(const struct stat& st, const fs::path& path, const fs::path& log_dir) {
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return fmt::format(
        "run log folder {} is inside {}, which belongs to uid {}: that user could "
        "replace the run log",
        quoted_path(log_dir), quoted_path(path), user_name(st.st_uid));
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)
    return fmt::format(
        "run log folder {} is inside {}, which other users can write (mode {:04o}): "
        "fix it with `chmod go-w {}` (or `chmod +t`)",
        quoted_path(log_dir), quoted_path(path), st.st_mode & 07777, quoted_path(path));
  return {};
}

}  // namespace

std::string unsafe_folder_reason(int fd, const fs::path& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fmt::format("{}: {}", quoted_path(path), std::strerror(errno));
  if (std::string reason = unsafe_own_folder(st, path); !reason.empty()) return reason;
  std::error_code error;
  const fs::path real = fs::canonical(path, error);
  if (error) return {};  // the folder open as `fd` was checked; its name may have gone since
  for (fs::path parent = real.parent_path();; parent = parent.parent_path()) {
    if (::stat(parent.c_str(), &st) != 0) break;
    if (std::string reason = unsafe_parent(st, parent, path); !reason.empty()) return reason;
    if (parent == parent.root_path() || parent.empty()) break;
  }
  return {};
}

std::string unsafe_file_reason(const struct stat& st, const fs::path& path) {
  if (!S_ISREG(st.st_mode)) return fmt::format("{} is not a regular file", quoted_path(path));
  if (st.st_uid != ::geteuid())
    return fmt::format("{} belongs to uid {}, not to you (uid {}): it may be forged; remove it",
                       quoted_path(path), user_name(st.st_uid), ::geteuid());
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return fmt::format("{} is writable by other users (mode {:04o}): it may be forged; remove it",
                       quoted_path(path), st.st_mode & 07777);
  return {};
}

}  // namespace deployd::report
