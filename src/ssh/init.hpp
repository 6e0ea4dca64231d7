// SPDX-License-Identifier: MIT
// Process-wide set-up that ssh/ needs before any session exists.
#pragma once

namespace deployd::ssh {

/// Initialises libssh2 once and ignores SIGPIPE; call from main before starting any thread.
void init_library();

/// Loads OpenSSL's configuration and the algorithms of a first handshake (X25519, Ed25519,
/// SHA-256, AES-128-CTR): ~3 ms that OpenSSL 3 would otherwise spend lazily inside the first
/// key exchange. Run it while the first connection waits for the server's banner.
void warm_up_crypto();

}  // namespace deployd::ssh
