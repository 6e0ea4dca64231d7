// SPDX-License-Identifier: MIT
// A one-shot watchdog: runs an action when a deadline passes unless disarmed first.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

namespace deployd::ssh {

/// A steady_timer whose action never runs after disarm() or destruction, even if the timer had
/// already expired and its handler was queued (the action and the handler share a flag).
class Alarm {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Alarm(const boost::asio::any_io_executor& executor) : timer_(executor) {}
  Alarm(const Alarm&) = delete;
  Alarm& operator=(const Alarm&) = delete;
  ~Alarm() { disarm(); }

  void arm(Clock::time_point when, std::function<void()> action) {
    disarm();
    action_ = std::make_shared<std::function<void()>>(std::move(action));
    timer_.expires_at(when);
    timer_.async_wait([action = action_](const boost::system::error_code& ec) {
      if (ec || !*action) return;
      auto run = std::move(*action);
      *action = nullptr;
      run();
    });
  }

  void disarm() {
    if (!action_) return;
    *action_ = nullptr;
    action_.reset();
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  std::shared_ptr<std::function<void()>> action_;
};

}  // namespace deployd::ssh
