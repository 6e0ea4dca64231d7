// SPDX-License-Identifier: MIT
// The TCP socket and the libssh2 session on it, driven by one coroutine at a time.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "async/awaitable.hpp"

typedef struct _LIBSSH2_SESSION LIBSSH2_SESSION;

namespace deployd::ssh {

struct Link;

/// What the lanes of one session share (Session::open_lane, issue 18): many coroutines drive
/// channels of one libssh2 session, each through a lane link with its own duplicate of the
/// socket (its own waits and wake-ups). libssh2 allows one operation per session at a time
/// only while a packet is half-sent (docs/ssh-notes.md): that lane's call must come next, and the
/// others wait for it. One lane's call may read another lane's packets out of the socket into
/// libssh2's queue: every lane waiting on the socket is then woken to call again.
struct LaneHub {
  explicit LaneHub(const boost::asio::any_io_executor& executor);
  std::vector<Link*> lanes;
  Link* sending = nullptr;  ///< the lane whose packet is half-sent; nullptr: none
  bool is_opening =
      false;  ///< a lane's channel open is in progress (libssh2 keeps one per session)
  bool is_aborted = false;       ///< the connection was shut down: nobody waits for a turn any more
  int channels = 0;              ///< channels the lanes hold open now
  Link* pending_open = nullptr;  ///< the lane whose open a deadline interrupted (still pending)
  /// Never expires; cancel() wakes every lane waiting for `sending` or `is_opening` to clear.
  boost::asio::steady_timer changed;
  /// Channels of timed-out commands that lanes left behind: the main session frees them.
  std::vector<void*> abandoned;

  /// Waits until no other lane's packet is half-sent and no open is in progress if `open`.
  boost::asio::awaitable<void> wait_until_clear(Link& lane, bool open);
  /// Waits until the lanes hold fewer than `held` channels, the link is aborted, or `lane` is
  /// woken (its deadline).
  boost::asio::awaitable<void> wait_for_fewer(Link& lane, int held);
  /// A lane gave its channel back.
  void release_channel(Link& lane);
};

/// A connected socket and its libssh2 session; internal to ssh/ (sessions own one through a pimpl).
struct Link {
  explicit Link(const boost::asio::any_io_executor& executor) : socket(executor) {}
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;
  /// Frees the session and closes the socket the abortive way if that was not done yet.
  ~Link();

  boost::asio::ip::tcp::socket socket;
  LIBSSH2_SESSION* session = nullptr;
  /// Re-arm TCP_QUICKACK after every libssh2 call (docs/ssh-notes.md, "Delayed ACK stalls", 2).
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
  /// Receives that brought bytes (counted on the main link, which libssh2 calls back).
  std::uint64_t input_count = 0;
  /// Set on a lane's link: the link whose session this lane borrows (never freed by the lane).
  Link* main = nullptr;
  /// Set on a main link once it has lanes.
  std::unique_ptr<LaneHub> hub;
  /// A lane's: it holds one of LaneHub::channels (its command's).
  bool holds_channel = false;

  /// Interrupts the call() waiting for input now (exec timeouts, keepalives).
  void wake();
  /// Shuts the socket down so every pending and later call fails fast; keeps the fd open
  /// so that its number cannot be reused under libssh2 (docs/ssh-notes.md, "Teardown order").
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

  /// Lanes only: waits for this lane's turn to call libssh2 (LaneHub), before each call.
  boost::asio::awaitable<void> wait_turn();
  /// Lanes only: after a libssh2 call that began when `input_count` was `inputs_before`: takes
  /// or gives back the turn (a half-sent packet) and wakes the other lanes if it read input.
  void after_call(std::uint64_t inputs_before, bool would_block);
  /// The receive count of the session's main link.
  std::uint64_t inputs() const { return main != nullptr ? main->input_count : input_count; }
};

/// After a libssh2 failure whose code hides its cause: LIBSSH2_ERROR_SOCKET_DISCONNECT if the
/// peer of socket `fd` closed the connection, LIBSSH2_ERROR_SOCKET_RECV if it was reset, else 0.
/// libssh2 1.10 reports a connection closed during the key exchange as
/// LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE and during public key authentication as
/// LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED, the code of a key the server refused.
int connection_loss(int fd);

}  // namespace deployd::ssh
