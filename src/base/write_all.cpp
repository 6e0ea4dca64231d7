// SPDX-License-Identifier: MIT
#include "base/write_all.hpp"

#include <unistd.h>

#include <cerrno>

namespace deployd::base {

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = EIO;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace deployd::base
