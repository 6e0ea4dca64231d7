// SPDX-License-Identifier: MIT
// Is a run log folder (or file) ours alone? Checked as OpenSSH checks ~/.ssh (issue 16, item 9):
// what another local user can write, they can forge (a summary.json that --retry-failed obeys)
// or redirect (a symlink the summary write follows).
#pragma once

#include <sys/stat.h>

#include <filesystem>
#include <string>

namespace deployd::report {

/// Why the folder open as `fd` (at `path`, for the message) and the folders above it are not
/// safe to hold a run log, or "" when they are. The folder must be owned by the effective user
/// and writable by nobody else; each folder above it must be owned by that user or root and
/// writable by nobody else unless sticky (like /tmp). The reason ends with how to fix it.
std::string unsafe_folder_reason(int fd, const std::filesystem::path& path);

/// Why the open file `st` describes (at `path`) is not safe to read as this user's run log
/// (another owner, writable by others, not a regular file), or "".
std::string unsafe_file_reason(const struct stat& st, const std::filesystem::path& path);

}  // namespace deployd::report
