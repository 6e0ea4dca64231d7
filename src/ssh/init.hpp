// SPDX-License-Identifier: MIT
// Process-wide set-up that ssh/ needs before any session exists.
#pragma once

namespace deployd::ssh {

/// Initialises libssh2 once and ignores SIGPIPE; call from main before starting any thread.
void init_library();

}  // namespace deployd::ssh
