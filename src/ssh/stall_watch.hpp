// SPDX-License-Identifier: MIT
// The dead-peer rule of transfers: SFTP requests in flight play the part of keepalives.
#pragma once

#include <chrono>
#include <string>

#include "ssh/alarm.hpp"
#include "ssh/link.hpp"

namespace deployd::ssh {

/// Watches a link while a transfer runs on it, and shuts the link down when the peer has sent
/// nothing for `limit` since it last owed us an answer (we sent it something, or the transfer
/// began). A transfer always has requests in flight, so a live host answers well within it.
///
/// Only the host's silence counts: bytes waiting unread in the socket are an answer that our
/// own loop has not read yet, and when the watch itself wakes late (the loop was starved, the
/// process was stopped) its clock starts again instead of blaming the host for our lag.
class StallWatch {
 public:
  using Clock = Alarm::Clock;

  /// Watches `link` until destroyed; a zero `limit` watches nothing.
  StallWatch(Link& link, Clock::duration limit);
  StallWatch(const StallWatch&) = delete;
  StallWatch& operator=(const StallWatch&) = delete;

  /// True once the watch has shut the link down.
  bool has_fired() const { return fired_; }

 private:
  /// The latest of: the watch began or woke late, we sent, the peer sent.
  Clock::time_point quiet_since() const;
  void arm();
  void check();

  Link& link_;
  Clock::duration limit_;
  Clock::time_point since_;  ///< the clock's start: the watch began, or woke late
  Clock::time_point due_;
  bool fired_ = false;
  Alarm alarm_;
};

}  // namespace deployd::ssh
