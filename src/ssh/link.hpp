// SPDX-License-Identifier: MIT
// The TCP socket and the libssh2 session on it, driven by one coroutine at a time.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <chrono>

#include "async/awaitable.hpp"

typedef struct _LIBSSH2_SESSION LIBSSH2_SESSION;

namespace deployd::ssh {

/// A connected socket and its libssh2 session; internal to ssh/ (sessions own one through a pimpl).
struct Link {
  explicit Link(const boost::asio::any_io_executor& executor) : socket(executor) {}
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  /// Frees the session and closes the socket the abortive way if that was not done yet.
  ~Link();

  boost::asio::ip::tcp::socket socket;
  LIBSSH2_SESSION* session = nullptr;
  /// Re-arm TCP_QUICKACK after every libssh2 call (ssh-facts: the second 40 ms stall).
  bool quickack = true;
  /// Set by wake(): the waiting call() returns kInterrupted instead of waiting on.
  bool interrupt = false;
  /// Set by abort(): the socket is shut down and the session is unusable.
  bool is_aborted = false;
  /// When libssh2 last received bytes from the peer (watch_traffic()): keepalive answers and any
  /// other traffic prove it is alive.
  std::chrono::steady_clock::time_point last_input = std::chrono::steady_clock::now();
  /// When libssh2 last sent bytes to the peer: from then on the peer owes us an answer.
  std::chrono::steady_clock::time_point last_output = std::chrono::steady_clock::now();

  /// Interrupts the call() waiting for input now (exec timeouts, keepalives).
  void wake();
  /// Shuts the socket down so every pending and later call fails fast; keeps the fd open
  /// so that its number cannot be reused under libssh2 (ssh-facts teardown).
  void abort();
  /// Frees the session (after abort() if it was not closed in order), then closes the socket.
  void release();
  /// Sets TCP_QUICKACK again while `quickack` is true.
  void rearm_quickack();
  /// Waits until the socket is ready for what libssh2_session_block_directions asked.
  boost::asio::awaitable<void> wait_ready(int directions);
  /// connection_loss() of this link's socket.
  int connection_loss();
  /// Makes libssh2 send and receive through this link, so that every byte exchanged with the
  /// peer updates last_input and last_output (whichever libssh2 call moved it). Call once, right
  /// after creating the session with this link as its abstract pointer; the link must not move
  /// afterwards.
  void watch_traffic();
  /// True if the peer sent bytes that are waiting in the socket, unread: what a controller
  /// whose own loop was late sees, as opposed to a silent peer.
  bool has_unread_input();
};

/// After a libssh2 failure whose code hides its cause: LIBSSH2_ERROR_SOCKET_DISCONNECT if the
/// peer of socket `fd` closed the connection, LIBSSH2_ERROR_SOCKET_RECV if it was reset, else 0.
/// libssh2 1.10 reports a connection closed during the key exchange as
/// LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE and during public key authentication as
/// LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED, the code of a key the server refused.
int connection_loss(int fd);

}  // namespace deployd::ssh
