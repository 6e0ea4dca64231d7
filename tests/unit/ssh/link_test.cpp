// SPDX-License-Identifier: MIT
// Tests src/ssh/link.cpp: telling a connection the peer hung up from one that is still there.
#include "ssh/link.hpp"

#include <doctest/doctest.h>
#include <libssh2.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace deployd::ssh;

namespace {

/// A connected pair of stream sockets, closed at the end of the test.
struct SocketPair {
  int ends[2] = {-1, -1};
  SocketPair() { REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, ends) == 0); }
  SocketPair(const SocketPair&) = delete;
  SocketPair& operator=(const SocketPair&) = delete;
  ~SocketPair() {
    for (int fd : ends)
      if (fd >= 0) ::close(fd);
  }
  void close_peer() {
    ::close(ends[1]);
    ends[1] = -1;
  }
};

}  // namespace

TEST_SUITE("ssh") {
  TEST_CASE("connection_loss: an open connection, with or without data waiting, is not lost") {
    SocketPair pair;
    CHECK(connection_loss(pair.ends[0]) == 0);
    REQUIRE(::write(pair.ends[1], "x", 1) == 1);
    CHECK(connection_loss(pair.ends[0]) == 0);
    char byte = 0;
    CHECK(::read(pair.ends[0], &byte, 1) == 1);  // the peek left the byte to be read
  }

  TEST_CASE("connection_loss: a peer that closed is a disconnect, and stays one") {
    SocketPair pair;
    pair.close_peer();
    CHECK(connection_loss(pair.ends[0]) == LIBSSH2_ERROR_SOCKET_DISCONNECT);
    CHECK(connection_loss(pair.ends[0]) == LIBSSH2_ERROR_SOCKET_DISCONNECT);
  }

  TEST_CASE("connection_loss: a socket that is not connected is a receive failure") {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    CHECK(connection_loss(fd) == LIBSSH2_ERROR_SOCKET_RECV);  // ENOTCONN
    ::close(fd);
  }
}
