// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>

namespace deployd::report {

/// `"path"` for a message: JSON-quoted, each byte that is not UTF-8 as `\xNN` (escape_json),
/// so that any path can be shown and the quoting never throws.
std::string quoted_path(const std::filesystem::path& path);

}  // namespace deployd::report
