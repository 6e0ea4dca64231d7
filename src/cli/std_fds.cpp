// SPDX-License-Identifier: MIT
// See std_fds.hpp.
#include "cli/std_fds.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace deployd::cli {

void ensure_standard_fds() {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    // open() returns the lowest free descriptor: `fd` itself, since every lower one is open.
    const int opened = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
    if (opened != fd) std::_Exit(71);  // EX_OSERR: there is nowhere to say why
  }
}

}  // namespace deployd::cli
