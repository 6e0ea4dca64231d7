// SPDX-License-Identifier: MIT
// The jump host's pump: one coroutine drives its libssh2 session and copies bytes between each
// direct-tcpip channel and the socketpair end of the session carried through it.
#include "ssh/jump.hpp"

#include <utility>  // first: Asio 1.18 with g++ 12 needs std::exchange (ssh-facts.md)
// (This comment keeps clang-format from sorting <utility> below the Asio headers.)

#include <libssh2.h>
#include <sys/socket.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <vector>

#include "ssh/alarm.hpp"
#include "ssh/session_impl.hpp"
#include "ssh/ssh_error.hpp"

namespace deployd::ssh {
namespace {

using boost::asio::awaitable;
using Descriptor = boost::asio::posix::stream_descriptor;

/// Bytes held per direction per tunnel. When a buffer is full the pump stops reading its source,
/// so a slow reader on one side holds back its writer: the SSH window on the channel side,
/// the socket buffer on the socketpair side.
constexpr std::size_t kBuffer = 32 * 1024;

/// A timer used as an event: wait() sleeps until notify(); a notify without a sleeper is kept.
class Signal {
 public:
  explicit Signal(const boost::asio::any_io_executor& executor) : timer_(executor) {}
  awaitable<void> wait() {
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

/// Why the session failed, without a prefix: the pool names the jump host.
std::string cause(LIBSSH2_SESSION* session, int rc) {
  std::string text = describe(session, rc, "");
  return text.substr(text.find(": ") + 2);
}

/// The result of one libssh2 operation of the pump.
enum class Step {
  Idle,        ///< nothing to do, or it would block on input
  Progress,    ///< something moved
  BlockedOut,  ///< a packet is half-sent: the same call must come next (ssh-facts.md)
};

}  // namespace

/// One channel and the pump's end of its socketpair.
struct Tunnel {
  explicit Tunnel(const boost::asio::any_io_executor& executor) : end(executor) {}
  LIBSSH2_CHANNEL* channel = nullptr;
  Descriptor end;
  std::array<char, kBuffer> up{};  ///< socket -> channel
  std::size_t up_begin = 0, up_end = 0;
  std::array<char, kBuffer> down{};  ///< channel -> socket
  std::size_t down_begin = 0, down_end = 0;
  bool is_socket_done = false;   ///< the session behind hung up: the channel is closed next
  bool is_channel_eof = false;   ///< the target hung up: the socket is shut for writing
  bool is_shut = false;          ///< ... which was done
  bool is_readable = true;       ///< readiness hints: false after EAGAIN until a wait says so
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
  awaitable<void> pump();
  bool run_pass();
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

namespace {

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
  if (!opens.empty() && !attempt([this] { return open_next(); }, &progress)) return progress;
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
  return progress;
}

void Jump::Impl::arm(const std::shared_ptr<Tunnel>& tunnel) {
  Tunnel& t = *tunnel;
  if (!t.end.is_open()) return;
  auto self = shared_from_this();
  if (!t.is_socket_done && t.up_end == 0 && !t.is_readable && !t.is_read_armed) {
    t.is_read_armed = true;
    t.end.async_wait(Descriptor::wait_read, [self, tunnel](boost::system::error_code ec) {
      tunnel->is_read_armed = false;
      if (ec) return;
      tunnel->is_readable = true;
      self->notify();
    });
  }
  if (t.down_begin != t.down_end && !t.is_writable && !t.is_write_armed) {
    t.is_write_armed = true;
    t.end.async_wait(Descriptor::wait_write, [self, tunnel](boost::system::error_code ec) {
      tunnel->is_write_armed = false;
      if (ec) return;
      tunnel->is_writable = true;
      self->notify();
    });
  }
}

/// Sleeps on what can unblock the pump: the jump host's socket (input; output while a packet
/// is half-sent), and each socketpair end that was found empty or full.
void Jump::Impl::arm_waits() {
  auto self = shared_from_this();
  auto& socket = link().socket;
  if (!has_input && !is_read_armed) {
    is_read_armed = true;
    socket.async_wait(boost::asio::ip::tcp::socket::wait_read,
                      [self](boost::system::error_code ec) {
                        self->is_read_armed = false;
                        self->has_input = true;  // also on errors: the next read reports them
                        if (!ec) self->notify();
                      });
  }
  if (stuck && !is_write_armed) {
    is_write_armed = true;
    socket.async_wait(boost::asio::ip::tcp::socket::wait_write,
                      [self](boost::system::error_code ec) {
                        self->is_write_armed = false;
                        if (!ec) self->notify();
                      });
  }
  for (const auto& tunnel : tunnels) arm(tunnel);
}

awaitable<void> Jump::Impl::pump() {
  for (;;) {
    const bool progress = run_pass();
    if (!broken.empty()) break;
    if (is_close_requested && tunnels.empty() && opens.empty() && !stuck) break;
    if (progress) continue;
    arm_waits();
    co_await wake.wait();
  }
  // Teardown (ssh-facts.md): the session goes first, then the socketpair ends.
  Session closing(std::move(session));
  co_await closing.close();
  for (auto& tunnel : tunnels) {
    boost::system::error_code ignored;
    tunnel->end.close(ignored);
  }
  tunnels.clear();
  is_finished = true;
  finished.notify();
}

std::unique_ptr<Jump> start_jump(std::unique_ptr<Session::Impl> session) {
  auto impl = std::make_shared<Jump::Impl>(std::move(session));
  auto executor = impl->executor();
  boost::asio::co_spawn(executor, impl->pump(), [impl](std::exception_ptr error) {
    if (!error) return;
    // A bug, not a network failure: fail the tunnels so the hosts behind end instead of hanging.
    impl->fail("internal error in the jump host's pump");
    impl->is_finished = true;
    impl->finished.notify();
  });
  return std::make_unique<Jump>(std::move(impl));
}

Jump::Jump(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Jump::~Jump() {
  if (impl_ && !impl_->is_finished) {
    impl_->fail("the jump host's session was abandoned");
    impl_->notify();
  }
}

const std::string& Jump::broken() const { return impl_->broken; }

awaitable<TunnelOutcome> Jump::open_tunnel(const std::string& host, int port,
                                           std::chrono::steady_clock::time_point deadline) {
  Impl& impl = *impl_;
  if (!impl.broken.empty()) co_return TunnelOutcome{-1, impl.broken};
  if (impl.is_close_requested) co_return TunnelOutcome{-1, "the jump host's session is closing"};
  auto request = std::make_shared<OpenRequest>(impl.executor(), host, port);
  impl.opens.push_back(request);
  impl.notify();
  Alarm watchdog(impl.executor());
  watchdog.arm(deadline, [request] {
    request->is_abandoned = true;
    request->answered.notify();
  });
  while (!request->is_done && !request->is_abandoned) co_await request->answered.wait();
  if (request->is_done) co_return std::move(request->outcome);
  co_return TunnelOutcome{-1, "timed out"};  // the pump closes the channel if it opens later
}

awaitable<void> Jump::close() {
  Impl& impl = *impl_;
  impl.is_close_requested = true;
  impl.notify();
  while (!impl.is_finished) co_await impl.finished.wait();
}

}  // namespace deployd::ssh
