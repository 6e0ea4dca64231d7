// SPDX-License-Identifier: MIT
// The sha256 of a file's bytes, as the run log records the plan's and the inventories'.
#pragma once

#include <string>

namespace deployd::cli {

/// Lower-case hex sha256 of the file at `path`, or "" when it cannot be read.
std::string sha256_of_file(const std::string& path);

}  // namespace deployd::cli
