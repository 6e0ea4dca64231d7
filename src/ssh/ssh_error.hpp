// SPDX-License-Identifier: MIT
// libssh2 error codes and messages turned into the one-line texts users read.
#pragma once

#include <string>
#include <string_view>

typedef struct _LIBSSH2_SESSION LIBSSH2_SESSION;

namespace deployd::ssh {

/// `what: cause` for a libssh2 failure, from the session's last error: every libssh2 code
/// becomes text here, so a host's error reads the same whatever call failed.
std::string describe(LIBSSH2_SESSION* session, int rc, std::string_view what);

/// The pure part of describe(): `libssh2_message` is what libssh2_session_last_error gave.
std::string describe_error(int rc, std::string_view libssh2_message, std::string_view what);

/// Why a name lookup failed, from the netdb error Asio reports (HOST_NOT_FOUND, NO_DATA,
/// TRY_AGAIN or NO_RECOVERY of <netdb.h>); `other` for any other value.
std::string describe_resolve_error(int netdb_error, std::string_view other);

/// True for codes that mean the TCP connection itself broke or was closed.
bool is_connection_error(int rc);

/// What a failed key exchange means with libssh2 1.10, pointing to ed25519/ECDSA keys.
extern const char* const kAlgorithmAdvice;

/// Why an RSA user key is refused, pointing to ed25519/ECDSA keys.
extern const char* const kRsaAdvice;

}  // namespace deployd::ssh
