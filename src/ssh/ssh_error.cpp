// SPDX-License-Identifier: MIT
// libssh2 error codes and messages turned into the one-line texts users read.
#include "ssh/ssh_error.hpp"

#include <libssh2.h>
#include <netdb.h>

#include <cctype>

namespace deployd::ssh {

const char* const kAlgorithmAdvice =
    "no key exchange, host key, cipher or MAC algorithm in common with the server (libssh2 1.10 "
    "has no rsa-sha2 host keys, chacha20-poly1305, AES-GCM or ETM MACs): give the server an "
    "ed25519 or ECDSA host key";

const char* const kRsaAdvice =
    "libssh2 1.10 signs RSA keys only with ssh-rsa (SHA-1), which OpenSSH >= 8.8 refuses: use an "
    "ed25519 or ECDSA key";

namespace {

/// libssh2 messages start upper-case and sometimes end with a period; ours do neither.
std::string house_style(std::string_view message) {
  while (!message.empty() && (message.back() == '.' || message.back() == '\n')) {
    message.remove_suffix(1);
  }
  std::string text(message);
  if (text.size() > 1 && std::isupper(static_cast<unsigned char>(text[0])) &&
      !std::isupper(static_cast<unsigned char>(text[1]))) {
    text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  }
  return text;
}

}  // namespace

std::string describe_resolve_error(int netdb_error, std::string_view other) {
  switch (netdb_error) {
    case HOST_NOT_FOUND:
      return "the name does not resolve (no such host in DNS or /etc/hosts)";
    case NO_DATA:
      return "the name does not resolve to an address (no A or AAAA record)";
    case TRY_AGAIN:
      return "the name could not be resolved: no answer from the DNS server (temporary failure)";
    case NO_RECOVERY:
      return "the name could not be resolved: the DNS server failed";
    default:
      return std::string(other);
  }
}

bool is_connection_error(int rc) {
  return rc == LIBSSH2_ERROR_SOCKET_DISCONNECT || rc == LIBSSH2_ERROR_SOCKET_RECV ||
         rc == LIBSSH2_ERROR_SOCKET_SEND || rc == LIBSSH2_ERROR_SOCKET_TIMEOUT ||
         rc == LIBSSH2_ERROR_TIMEOUT || rc == LIBSSH2_ERROR_SOCKET_NONE ||
         rc == LIBSSH2_ERROR_BANNER_RECV;
}

std::string describe_error(int rc, std::string_view libssh2_message, std::string_view what) {
  std::string cause;
  switch (rc) {
    case LIBSSH2_ERROR_SOCKET_DISCONNECT:
    case LIBSSH2_ERROR_BANNER_RECV:
      cause = "connection closed by the server";
      break;
    case LIBSSH2_ERROR_SOCKET_RECV:
      cause = "receive failed (connection reset or broken)";
      break;
    case LIBSSH2_ERROR_SOCKET_SEND:
      cause = "send failed (connection reset or broken)";
      break;
    case LIBSSH2_ERROR_KEX_FAILURE:
      cause = kAlgorithmAdvice;
      break;
    case LIBSSH2_ERROR_OUT_OF_BOUNDARY:  // libssh2 says only "transport read"
      cause = "the server sent a packet larger than SSH allows (protocol error)";
      break;
    default:
      cause = libssh2_message.empty() ? "libssh2 error " + std::to_string(rc)
                                      : house_style(libssh2_message);
  }
  return std::string(what) + ": " + cause;
}

std::string describe(LIBSSH2_SESSION* session, int rc, std::string_view what) {
  char* message = nullptr;
  int length = 0;
  if (session != nullptr) libssh2_session_last_error(session, &message, &length, 0);
  return describe_error(
      rc, std::string_view(message != nullptr ? message : "", static_cast<std::size_t>(length)),
      what);
}

}  // namespace deployd::ssh
