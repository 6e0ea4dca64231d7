// SPDX-License-Identifier: MIT
// The insides of ssh::Jump, shared by jump.cpp (its API and the pump's loop) and jump_pump.cpp
// (the pump's operations).
#pragma once

#include <libssh2.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "async/awaitable.hpp"
#include "ssh/jump.hpp"
#include "ssh/session_impl.hpp"

namespace deployd::ssh {

using Descriptor = boost::asio::posix::stream_descriptor;

/// Bytes held per direction per tunnel. When a buffer is full the pump stops reading its source,
/// so a slow reader on one side holds back its writer: the SSH window on the channel side,
/// the socket buffer on the socketpair side.
constexpr std::size_t kBuffer = 32 * 1024;

/// A timer used as an event: wait() sleeps until notify(); a notify without a sleeper is kept.
class Signal {
 public:
  explicit Signal(const boost::asio::any_io_executor& executor) : timer_(executor) {}
  boost::asio::awaitable<void> wait() {
    if (!is_pending_) {
      timer_.expires_at(boost::asio::steady_timer::time_point::max());
      boost::system::error_code ignored;
      co_await timer_.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
    }
    is_pending_ = false;
  }
  void notify() {
    is_pending_ = true;
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  bool is_pending_ = false;
};

/// The result of one libssh2 operation of the pump.
enum class Step {
  Idle,        ///< nothing to do, or it would block on input
  Progress,    ///< something moved
  BlockedOut,  ///< a packet is half-sent: the same call must come next (docs/ssh-notes.md)
};

/// One channel and the pump's end of its socketpair.
struct Tunnel {
  explicit Tunnel(const boost::asio::any_io_executor& executor) : end(executor) {}
  LIBSSH2_CHANNEL* channel = nullptr;
  Descriptor end;
  std::array<char, kBuffer> up{};  ///< socket -> channel
  std::size_t up_begin = 0, up_end = 0;
  std::array<char, kBuffer> down{};  ///< channel -> socket
  std::size_t down_begin = 0, down_end = 0;
  bool is_socket_done = false;  ///< the session behind hung up: the channel is closed next
  bool is_channel_eof = false;  ///< the target hung up: the socket is shut for writing
  bool is_shut = false;         ///< ... which was done
  bool is_readable = true;      ///< readiness hints: false after EAGAIN until a wait says so
  bool is_writable = true;
  bool is_read_armed = false, is_write_armed = false;
};

/// A request of open_tunnel(), answered by the pump.
struct OpenRequest {
  OpenRequest(const boost::asio::any_io_executor& executor, std::string host, int port)
      : host(std::move(host)), port(port), answered(executor) {}
  std::string host;
  int port;
  bool is_abandoned = false;  ///< the caller gave up (its deadline passed)
  bool is_done = false;
  TunnelOutcome outcome;
  Signal answered;
};

struct Jump::Impl : std::enable_shared_from_this<Jump::Impl> {
  explicit Impl(std::unique_ptr<Session::Impl> session)
      : session(std::move(session)), wake(executor()), finished(executor()) {}

  boost::asio::any_io_executor executor() { return session->link.socket.get_executor(); }
  Link& link() { return session->link; }

  std::unique_ptr<Session::Impl> session;
  std::vector<std::shared_ptr<Tunnel>> tunnels;
  std::deque<std::shared_ptr<OpenRequest>> opens;
  std::function<Step()> stuck;  ///< the operation whose half-sent packet must be finished first
  bool has_input = true;        ///< the jump host's socket may hold input libssh2 has not read
  bool is_read_armed = false, is_write_armed = false;
  bool is_close_requested = false;
  bool is_finished = false;
  std::string broken;
  Signal wake;
  Signal finished;

  void notify() { wake.notify(); }
  bool blocked_out() const {
    return (libssh2_session_block_directions(session->link.session) &
            LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0;
  }

  // The pump (below).
  boost::asio::awaitable<void> pump();
  bool run_pass();
  bool has_queued_work();
  bool attempt(std::function<Step()> operation, bool* progress);
  Step open_next();
  Step read_channel(Tunnel& tunnel);
  Step write_channel(Tunnel& tunnel);
  Step free_channel(Tunnel& tunnel);
  bool move_socket_bytes(Tunnel& tunnel);
  void fail(std::string why);
  void arm_waits();
  void arm(const std::shared_ptr<Tunnel>& tunnel);
};

}  // namespace deployd::ssh
