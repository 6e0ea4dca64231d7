// SPDX-License-Identifier: MIT
// The TCP socket and the libssh2 session on it: readiness waits, quick ACKs and teardown.
#include "ssh/link.hpp"

#include <libssh2.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/redirect_error.hpp>
#include <cerrno>
#include <memory>
#include <optional>

#include "async/awaitable.hpp"

namespace deployd::ssh {
namespace {

using boost::asio::ip::tcp;

/// Completes when the socket is readable or writable, whichever comes first. Asio 1.18 has no
/// awaitable operators or parallel_group: start both waits, let the first one complete the
/// operation and cancel the other (this socket has no other pending operation).
template <class Token>
auto async_wait_either(tcp::socket& socket, Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code)>(
      [&socket](auto handler) {
        using Handler = decltype(handler);
        auto pending = std::make_shared<std::optional<Handler>>(std::move(handler));
        auto on_ready = [pending, &socket](boost::system::error_code ec) {
          if (!pending->has_value()) return;  // the other wait won; `socket` may be gone
          Handler finish = std::move(**pending);
          pending->reset();
          boost::system::error_code ignored;
          socket.cancel(ignored);
          auto executor = boost::asio::get_associated_executor(finish, socket.get_executor());
          boost::asio::dispatch(executor,
                                [finish = std::move(finish), ec]() mutable { finish(ec); });
        };
        socket.async_wait(tcp::socket::wait_read, on_ready);
        socket.async_wait(tcp::socket::wait_write, on_ready);
      },
      token);
}

/// libssh2's own receive and send functions (misc.c, _libssh2_recv and _libssh2_send) plus a
/// note of when bytes moved.
ssize_t receive(libssh2_socket_t fd, void* buffer, size_t length, int flags, void** abstract) {
  const ssize_t n = ::recv(fd, buffer, length, flags);
  if (n > 0) {
    Link& link = *static_cast<Link*>(*abstract);
    link.last_input = std::chrono::steady_clock::now();
    ++link.input_count;
    if (link.hub)
      for (Link* lane : link.hub->lanes) lane->last_input = link.last_input;
  }
  return n < 0 ? -errno : n;  // -EAGAIN is libssh2's "would block"
}

ssize_t send_to(libssh2_socket_t fd, const void* buffer, size_t length, int flags,
                void** abstract) {
  const ssize_t n = ::send(fd, buffer, length, flags);
  if (n > 0) static_cast<Link*>(*abstract)->last_output = std::chrono::steady_clock::now();
  return n < 0 ? -errno : n;
}

}  // namespace

LaneHub::LaneHub(const boost::asio::any_io_executor& executor) : changed(executor) {
  changed.expires_at(boost::asio::steady_timer::time_point::max());
}

boost::asio::awaitable<void> LaneHub::wait_until_clear(Link& lane, bool open) {
  // The timer's expiry is never set again: setting it would cancel the other lanes' waits.
  while (!is_aborted && ((sending != nullptr && sending != &lane) || (open && is_opening))) {
    boost::system::error_code ignored;
    co_await changed.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
  }
}

boost::asio::awaitable<void> LaneHub::wait_for_fewer(Link& lane, int held) {
  while (!is_aborted && !lane.interrupt && channels >= held) {
    boost::system::error_code ignored;
    co_await changed.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
  }
}

void LaneHub::release_channel(Link& lane) {
  if (!std::exchange(lane.holds_channel, false)) return;
  --channels;
  changed.cancel();
}

boost::asio::awaitable<void> Link::wait_turn() {
  LaneHub& shared = *main->hub;
  if (shared.sending != nullptr && shared.sending != this)
    co_await shared.wait_until_clear(*this, false);
}

void Link::after_call(std::uint64_t inputs_before, bool would_block) {
  LaneHub& shared = *main->hub;
  const bool is_half_sent = would_block && (libssh2_session_block_directions(session) &
                                            LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0;
  if (is_half_sent) {
    shared.sending = this;
  } else if (shared.sending == this) {
    shared.sending = nullptr;
    shared.changed.cancel();
  }
  if (main->input_count == inputs_before) return;
  // Packets for other lanes may now wait in libssh2's queue, not in the socket: their waits
  // would never end. Cancelled, they call again and find them.
  boost::system::error_code ignored;
  for (Link* lane : shared.lanes)
    if (lane != this) lane->socket.cancel(ignored);
}

Link::~Link() { release(); }

void Link::wake() {
  interrupt = true;
  boost::system::error_code ignored;
  socket.cancel(ignored);
  if (main != nullptr && main->hub) main->hub->changed.cancel();  // a lane waiting for a channel
}

void Link::abort() {
  is_aborted = true;
  boost::system::error_code ignored;
  if (session == nullptr) {
    socket.close(ignored);  // no libssh2 on it yet: closing stops a pending connect
    return;
  }
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.cancel(ignored);
  if (LaneHub* shared = main != nullptr ? main->hub.get() : hub.get(); shared != nullptr) {
    shared->is_aborted = true;  // every lane's next call fails on the shut socket
    shared->changed.cancel();
  }
}

void Link::release() {
  if (main != nullptr) {
    // A lane: the session is the main link's; only this duplicate of the socket goes.
    if (main->hub) main->hub->release_channel(*this);
    if (main->hub) std::erase(main->hub->lanes, this);
    if (main->hub && main->hub->sending == this) {
      main->hub->sending = nullptr;
      main->hub->changed.cancel();
    }
    session = nullptr;
    main = nullptr;
  }
  if (session != nullptr) {
    if (!is_aborted) abort();
    // After shutdown() every send fails at once, so free cannot ask to wait; the bound is a guard.
    for (int tries = 0; tries < 100 && libssh2_session_free(session) == LIBSSH2_ERROR_EAGAIN;) {
      ++tries;
    }
    session = nullptr;
  }
  boost::system::error_code ignored;
  socket.close(ignored);
}

void Link::rearm_quickack() {
  if (!quickack || !socket.is_open()) return;
  const int on = 1;
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_QUICKACK, &on, sizeof on);
}

boost::asio::awaitable<void> Link::wait_ready(int directions) {
  const bool read = (directions & LIBSSH2_SESSION_BLOCK_INBOUND) != 0;
  const bool write = (directions & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0;
  // Errors (a cancel, a shut-down socket) are not reported here: the repeated libssh2 call
  // sees the socket's state and returns the real error.
  boost::system::error_code ec;
  auto token = boost::asio::redirect_error(boost::asio::use_awaitable, ec);
  if (read && !write) {
    co_await socket.async_wait(tcp::socket::wait_read, token);
  } else if (write && !read) {
    co_await socket.async_wait(tcp::socket::wait_write, token);
  } else {
    co_await async_wait_either(socket, token);  // both, or a libssh2 EAGAIN without direction
  }
}

int connection_loss(int fd) {
  char byte = 0;
  const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return LIBSSH2_ERROR_SOCKET_DISCONNECT;
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    return LIBSSH2_ERROR_SOCKET_RECV;
  }
  return 0;
}

void Link::watch_traffic() {
  last_input = last_output = std::chrono::steady_clock::now();
  libssh2_session_callback_set(session, LIBSSH2_CALLBACK_RECV, reinterpret_cast<void*>(&receive));
  libssh2_session_callback_set(session, LIBSSH2_CALLBACK_SEND, reinterpret_cast<void*>(&send_to));
}

bool Link::has_unread_input() {
  if (!socket.is_open()) return false;
  pollfd ready{socket.native_handle(), POLLIN, 0};
  return ::poll(&ready, 1, 0) == 1 && (ready.revents & POLLIN) != 0;
}

int Link::connection_loss() {
  return socket.is_open() ? ssh::connection_loss(socket.native_handle()) : 0;
}

}  // namespace deployd::ssh
