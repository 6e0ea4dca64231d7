// SPDX-License-Identifier: MIT
// Wakeup and Semaphore: a steady_timer at time_point::max() used as an event (asio chat_server).
#include "engine/wakeup.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>

#include "async/awaitable.hpp"

namespace deployd::engine {

namespace asio = boost::asio;

struct Wakeup::Timer {
  asio::steady_timer timer;
};

Wakeup::Wakeup(asio::any_io_executor executor)
    : timer_(std::make_unique<Timer>(Timer{asio::steady_timer(executor)})) {}
Wakeup::~Wakeup() = default;

asio::awaitable<void> Wakeup::wait() {
  if (!pending_) {
    timer_->timer.expires_at(asio::steady_timer::time_point::max());
    boost::system::error_code ignored;  // operation_aborted is the wakeup itself
    co_await timer_->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  pending_ = false;
}

void Wakeup::notify() {
  pending_ = true;
  timer_->timer.cancel();
}

struct Semaphore::Waiter {
  explicit Waiter(asio::any_io_executor executor) : timer(executor) {}
  asio::steady_timer timer;
};

Semaphore::Semaphore(asio::any_io_executor executor, int limit)
    : executor_(std::move(executor)), available_(limit) {}
Semaphore::~Semaphore() = default;

asio::awaitable<void> Semaphore::acquire() {
  if (available_ > 0 && waiters_.empty()) {
    --available_;
    co_return;
  }
  auto waiter = std::make_shared<Waiter>(executor_);
  waiter->timer.expires_at(asio::steady_timer::time_point::max());
  waiters_.push_back(waiter);
  // release() hands its slot over by cancelling our timer, so `available_` stays unchanged.
  boost::system::error_code ignored;
  co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

void Semaphore::release() {
  if (waiters_.empty()) {
    ++available_;
    return;
  }
  std::shared_ptr<Waiter> next = waiters_.front();
  waiters_.pop_front();
  next->timer.cancel();
}

}  // namespace deployd::engine
