// SPDX-License-Identifier: MIT
#pragma once

#include <string_view>

namespace deployd::base {

/// write(2) until all of `data` is written, retrying on EINTR: a regular file may take less
/// than asked (a full disk). False with errno set when a write fails (EIO if it wrote nothing).
bool write_all(int fd, std::string_view data);

}  // namespace deployd::base
