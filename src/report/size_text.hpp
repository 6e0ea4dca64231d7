// SPDX-License-Identifier: MIT
// Byte counts as people read them on a terminal.
#pragma once

#include <cstdint>
#include <string>

namespace deployd::report {

/// `512 B`, `3.5 KiB`, `64.0 MiB`, `1.2 GiB`: binary units, one decimal above bytes.
std::string format_bytes(std::uint64_t bytes);

}  // namespace deployd::report
