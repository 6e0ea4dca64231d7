// SPDX-License-Identifier: MIT
// Process-wide set-up that ssh/ needs before any session exists.
#include "ssh/init.hpp"

#include <libssh2.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace deployd::ssh {

void init_library() {
  static const bool is_initialised = [] {
    if (libssh2_init(0) != 0) {
      std::fputs("deployd: fatal: libssh2_init failed\n", stderr);
      std::abort();
    }
    // libssh2 sends agent traffic without MSG_NOSIGNAL (ssh-facts.md): a dead agent or peer
    // must be an error code, not a killed process.
    std::signal(SIGPIPE, SIG_IGN);
    return true;
  }();
  (void)is_initialised;
}

}  // namespace deployd::ssh
