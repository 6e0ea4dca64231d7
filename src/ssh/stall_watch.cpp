// SPDX-License-Identifier: MIT
// The dead-peer rule of transfers (stall_watch.hpp).
#include "ssh/stall_watch.hpp"

#include <algorithm>

namespace deployd::ssh {
namespace {

/// A wake-up this late means our own loop was not running: nothing can be said of the host.
constexpr std::chrono::seconds kLate{1};

}  // namespace

StallWatch::StallWatch(Link& link, Clock::duration limit)
    : link_(link), limit_(limit), since_(Clock::now()), alarm_(link.socket.get_executor()) {
  if (limit_.count() > 0) arm();
}

StallWatch::Clock::time_point StallWatch::quiet_since() const {
  return std::max({link_.last_output, link_.last_input, since_});
}

void StallWatch::arm() {
  due_ = quiet_since() + limit_;
  alarm_.arm(due_, [this] { check(); });
}

void StallWatch::check() {
  if (link_.is_aborted) return;
  const Clock::time_point now = Clock::now();
  if (now - due_ >= kLate) {
    since_ = now;
  } else if (link_.has_unread_input()) {
    link_.last_input = now;
  } else if (now >= quiet_since() + limit_) {
    fired_ = true;
    link_.abort();
    return;
  }
  arm();
}

}  // namespace deployd::ssh
