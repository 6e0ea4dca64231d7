// SPDX-License-Identifier: MIT
// Writing a report file whole or not at all, safely in a folder other users may write.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace deployd::report {

/// Writes `data` to `file` through a temporary file beside it, then renames it over `file`: a
/// reader sees the old file or the whole new one. The temporary name is random and created
/// exclusively (mkstemp), so a symlink planted there is never written through; the rename
/// replaces whatever is at `file`, a symlink included, without following it. The new file is
/// 0600. Returns "" or why it failed (strerror); the temporary file is removed on failure.
std::string write_whole_file(const std::filesystem::path& file, std::string_view data);

}  // namespace deployd::report
