// SPDX-License-Identifier: MIT
// Tests src/ssh/ssh_error.cpp and src/ssh/connection_spec.cpp: the texts users read.
#include "ssh/ssh_error.hpp"

#include <doctest/doctest.h>
#include <libssh2.h>
#include <netdb.h>

#include "ssh/connection_spec.hpp"

using namespace deployd::ssh;

TEST_SUITE("ssh") {
  TEST_CASE("libssh2 failures read as lower-case causes after what was being done") {
    CHECK(describe_error(LIBSSH2_ERROR_SOCKET_DISCONNECT, "Socket disconnect",
                         "ssh handshake with 127.0.99.7:22") ==
          "ssh handshake with 127.0.99.7:22: connection closed by the server");
    CHECK(describe_error(LIBSSH2_ERROR_SOCKET_RECV, "Failure while draining incoming flow",
                         "connection lost during command") ==
          "connection lost during command: receive failed (connection reset or broken)");
    CHECK(describe_error(LIBSSH2_ERROR_CHANNEL_FAILURE, "Unable to open channel.",
                         "cannot start command") == "cannot start command: unable to open channel");
    CHECK(describe_error(LIBSSH2_ERROR_SFTP_PROTOCOL, "SFTP protocol error", "sftp open /x") ==
          "sftp open /x: SFTP protocol error");
    CHECK(describe_error(-21, "", "exec") == "exec: libssh2 error -21");
    // A hostile server's oversized packet (issue 16, hostile_test.py).
    CHECK(describe_error(LIBSSH2_ERROR_OUT_OF_BOUNDARY, "transport read", "connection lost during command") ==
          "connection lost during command: the server sent a packet larger than SSH allows (protocol error)");
  }

  TEST_CASE("a failed key exchange names libssh2's limits and ed25519/ECDSA keys") {
    const std::string text =
        describe_error(LIBSSH2_ERROR_KEX_FAILURE, "Unable to exchange encryption keys",
                       "ssh handshake with 127.0.99.7:22");
    CHECK(text == std::string("ssh handshake with 127.0.99.7:22: ") + kAlgorithmAdvice);
    CHECK(text.find("rsa-sha2") != std::string::npos);
    CHECK(text.find("ed25519 or ECDSA host key") != std::string::npos);
    CHECK(std::string(kRsaAdvice).find("OpenSSH >= 8.8") != std::string::npos);
  }

  TEST_CASE("a failed name lookup says whether the name does not exist or the DNS failed") {
    CHECK(describe_resolve_error(HOST_NOT_FOUND, "host not found (authoritative)") ==
          "the name does not resolve (no such host in DNS or /etc/hosts)");
    CHECK(describe_resolve_error(NO_DATA, "") ==
          "the name does not resolve to an address (no A or AAAA record)");
    CHECK(describe_resolve_error(TRY_AGAIN, "") ==
          "the name could not be resolved: no answer from the DNS server (temporary failure)");
    CHECK(describe_resolve_error(NO_RECOVERY, "") ==
          "the name could not be resolved: the DNS server failed");
    CHECK(describe_resolve_error(-1, "operation canceled") == "operation canceled");
  }

  TEST_CASE("connection errors are told apart from protocol errors") {
    CHECK(is_connection_error(LIBSSH2_ERROR_SOCKET_DISCONNECT));
    CHECK(is_connection_error(LIBSSH2_ERROR_SOCKET_RECV));
    CHECK_FALSE(is_connection_error(LIBSSH2_ERROR_KEX_FAILURE));
    CHECK_FALSE(is_connection_error(LIBSSH2_ERROR_AUTHENTICATION_FAILED));
  }

  TEST_CASE("host-key modes are spelled as in plans") {
    CHECK(std::string(to_string(HostKeyCheck::Strict)) == "strict");
    CHECK(std::string(to_string(HostKeyCheck::AcceptNew)) == "accept-new");
    CHECK(std::string(to_string(HostKeyCheck::Off)) == "off");
  }
}
