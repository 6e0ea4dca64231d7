// SPDX-License-Identifier: MIT
// A session to a jump host (bastion) that carries sessions to hosts behind it as direct-tcpip
// channels.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "async/awaitable.hpp"

namespace deployd::ssh {

/// A tunnel's local end, or why there is none.
struct TunnelOutcome {
  int fd = -1;  ///< a connected stream socket, owned by the caller from now on
  std::string error;
};

/// An authenticated session to a jump host. One coroutine, the pump, owns the libssh2 session
/// (one sending call at a time, docs/ssh-notes.md) and copies bytes between each direct-tcpip
/// channel and one end of a socketpair; the other end is the socket of the session behind the
/// jump host.
class Jump {
 public:
  struct Impl;
  explicit Jump(std::shared_ptr<Impl> impl);
  Jump(const Jump&) = delete;
  Jump& operator=(const Jump&) = delete;
  /// Aborts the session if close() was not awaited.
  ~Jump();

  /// Opens a direct-tcpip channel to host:port (resolved by the jump host), giving up at
  /// `deadline`. Opens are sent one at a time: libssh2 keeps one open's state per session.
  boost::asio::awaitable<TunnelOutcome> open_tunnel(const std::string& host, int port,
                                                    std::chrono::steady_clock::time_point deadline);
  /// Why the jump host's session died; "" while it works.
  const std::string& broken() const;
  /// Closes the session once its tunnels are gone (their sessions closed); never throws.
  boost::asio::awaitable<void> close();

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace deployd::ssh
