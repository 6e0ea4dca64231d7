// SPDX-License-Identifier: MIT
// The jump host pump's operations: open channels, copy bytes between each channel and its
// socketpair, free channels; each libssh2 call is retried alone while its packet is half-sent.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "ssh/jump_impl.hpp"
#include "ssh/ssh_error.hpp"

namespace deployd::ssh {
namespace {

/// Why the session failed, without a prefix: the pool names the jump host.
std::string cause(LIBSSH2_SESSION* session, int rc) {
  std::string text = describe(session, rc, "");
  return text.substr(text.find(": ") + 2);
}

void shut(Tunnel& tunnel, int how) {
  if (tunnel.end.is_open()) ::shutdown(tunnel.end.native_handle(), how);
}

}  // namespace

/// Marks the session dead: every tunnel's session sees its socket close, every waiting open
/// gets the reason, and the pump ends.
void Jump::Impl::fail(std::string why) {
  if (!broken.empty()) return;
  broken = std::move(why);
  if (!session) return;  // already torn down
  session->broken = broken;
  link().abort();
  for (auto& tunnel : tunnels) shut(*tunnel, SHUT_RDWR);
  for (auto& request : opens) {
    request->outcome.error = broken;
    request->is_done = true;
    request->answered.notify();
  }
  opens.clear();
}

/// Runs an operation; a half-sent packet makes it the only one allowed until it completes.
bool Jump::Impl::attempt(std::function<Step()> operation, bool* progress) {
  const Step step = operation();
  if (step == Step::Progress) *progress = true;
  if (step != Step::BlockedOut) return true;
  stuck = std::move(operation);
  return false;
}

Step Jump::Impl::open_next() {
  OpenRequest& request = *opens.front();
  LIBSSH2_SESSION* s = link().session;
  LIBSSH2_CHANNEL* channel =
      libssh2_channel_direct_tcpip_ex(s, request.host.c_str(), request.port, "127.0.0.1", 0);
  has_input = false;
  if (channel == nullptr) {
    const int rc = libssh2_session_last_errno(s);
    if (rc == LIBSSH2_ERROR_EAGAIN) return blocked_out() ? Step::BlockedOut : Step::Idle;
    if (is_connection_error(rc)) {
      fail(cause(s, rc));
      return Step::Progress;
    }
    request.outcome.error = cause(s, rc);  // e.g. "channel open failure (connect failed)"
  } else {
    auto tunnel = std::make_shared<Tunnel>(executor());
    tunnel->channel = channel;
    int fds[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
      request.outcome.error = "socketpair: " + std::string(std::strerror(errno));
      tunnel->is_socket_done = true;
    } else {
      tunnel->end.assign(fds[0]);
      if (request.is_abandoned) {
        ::close(fds[1]);
      } else {
        request.outcome.fd = fds[1];
      }
    }
    tunnels.push_back(std::move(tunnel));
  }
  request.is_done = true;
  request.answered.notify();
  opens.pop_front();
  return Step::Progress;
}

Step Jump::Impl::read_channel(Tunnel& t) {
  if (t.is_channel_eof || t.down_end != 0) return Step::Idle;
  // Reading a channel first drains the jump host's socket into libssh2's packet list; after
  // that, only channels with queued data or an EOF need a read (no recv() per tunnel per pass).
  if (!has_input && libssh2_poll_channel_read(t.channel, 0) == 0 &&
      libssh2_channel_eof(t.channel) == 0) {
    return Step::Idle;
  }
  const ssize_t n = libssh2_channel_read(t.channel, t.down.data(), t.down.size());
  has_input = false;
  if (n > 0) {
    t.down_begin = 0;
    t.down_end = static_cast<std::size_t>(n);
    return Step::Progress;
  }
  if (n == LIBSSH2_ERROR_EAGAIN) return blocked_out() ? Step::BlockedOut : Step::Idle;
  if (n == 0 && libssh2_channel_eof(t.channel) == 0) return Step::Idle;
  if (n < 0 && is_connection_error(static_cast<int>(n))) {
    fail(cause(link().session, static_cast<int>(n)));
    return Step::Progress;
  }
  t.is_channel_eof = true;  // EOF, or the channel failed: the session behind sees its socket end
  return Step::Progress;
}

Step Jump::Impl::write_channel(Tunnel& t) {
  if (t.up_begin == t.up_end) return Step::Idle;
  const ssize_t n =
      libssh2_channel_write(t.channel, t.up.data() + t.up_begin, t.up_end - t.up_begin);
  if (n >= 0) {
    t.up_begin += static_cast<std::size_t>(n);
    if (t.up_begin == t.up_end) t.up_begin = t.up_end = 0;
    return n > 0 ? Step::Progress : Step::Idle;
  }
  if (n == LIBSSH2_ERROR_EAGAIN) return blocked_out() ? Step::BlockedOut : Step::Idle;
  if (is_connection_error(static_cast<int>(n))) {
    fail(cause(link().session, static_cast<int>(n)));
    return Step::Progress;
  }
  // The channel is gone (the target closed it): drop what the session behind still sends.
  t.up_begin = t.up_end = 0;
  t.is_channel_eof = true;
  t.is_socket_done = true;
  return Step::Progress;
}

Step Jump::Impl::free_channel(Tunnel& t) {
  const int rc = libssh2_channel_free(t.channel);
  if (rc == LIBSSH2_ERROR_EAGAIN) return blocked_out() ? Step::BlockedOut : Step::Idle;
  t.channel = nullptr;  // freed, or the session is failing and frees it with itself
  return Step::Progress;
}

/// Reads the socketpair into `up` and writes `down` to it; true if bytes moved.
bool Jump::Impl::move_socket_bytes(Tunnel& t) {
  bool moved = false;
  const int fd = t.end.native_handle();
  if (!t.is_socket_done && t.up_end == 0 && t.is_readable) {
    const ssize_t n = ::recv(fd, t.up.data(), t.up.size(), 0);
    if (n > 0) {
      t.up_end = static_cast<std::size_t>(n);
      moved = true;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      t.is_readable = false;
    } else {
      t.is_socket_done = true;  // the session behind closed its socket
      moved = true;
    }
  }
  if (t.down_begin != t.down_end && t.is_writable) {
    const ssize_t n =
        ::send(fd, t.down.data() + t.down_begin, t.down_end - t.down_begin, MSG_NOSIGNAL);
    if (n > 0) {
      t.down_begin += static_cast<std::size_t>(n);
      if (t.down_begin == t.down_end) t.down_begin = t.down_end = 0;
      moved = true;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      t.is_writable = false;
    } else {
      t.down_begin = t.down_end = 0;  // nobody reads any more
      t.is_socket_done = true;
      moved = true;
    }
  }
  if (t.is_channel_eof && t.down_begin == t.down_end && !t.is_shut) {
    shut(t, SHUT_WR);
    t.is_shut = true;
  }
  return moved;
}

/// One round over every operation that may go on; false if nothing moved.
bool Jump::Impl::run_pass() {
  bool progress = false;
  if (stuck) {
    auto operation = std::move(stuck);
    if (!attempt(std::move(operation), &progress)) return progress;
  }
  for (std::size_t i = 0; i < tunnels.size() && broken.empty(); ++i) {
    Tunnel& t = *tunnels[i];
    if (t.channel == nullptr) continue;
    if (move_socket_bytes(t)) progress = true;
    if (t.is_socket_done) {
      if (!attempt([this, &t] { return free_channel(t); }, &progress)) return progress;
      continue;
    }
    if (!attempt([this, &t] { return write_channel(t); }, &progress)) return progress;
    if (!attempt([this, &t] { return read_channel(t); }, &progress)) return progress;
    if (move_socket_bytes(t)) progress = true;
  }
  std::erase_if(tunnels, [](const auto& t) { return t->channel == nullptr; });
  // Last: the tunnels' calls above may have read an open's confirmation off the socket.
  if (!opens.empty() && broken.empty()) attempt([this] { return open_next(); }, &progress);
  return progress;
}

/// Any libssh2 call reads the jump host's socket (a write drains window adjusts, an open waits
/// for its confirmation), so input for a tunnel passed earlier in the round, or a window that
/// opened for one, may sit in the session's packet list where no socket wait will see it.
bool Jump::Impl::has_queued_work() {
  for (const auto& t : tunnels) {
    if (t->channel == nullptr || t->is_socket_done) continue;
    if (t->down_end == 0 && !t->is_channel_eof &&
        (libssh2_poll_channel_read(t->channel, 0) != 0 || libssh2_channel_eof(t->channel) != 0)) {
      return true;
    }
    if (t->up_begin != t->up_end && libssh2_channel_window_write(t->channel) > 0) return true;
  }
  return false;
}

}  // namespace deployd::ssh
