// SPDX-License-Identifier: MIT
// Single-thread coroutine signals: a wakeup the driver sleeps on, and a counting semaphore.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <deque>
#include <memory>

#include "async/awaitable.hpp"

namespace deployd::engine {

/// Wakeup lets one coroutine sleep until another notifies it. A notify with nobody waiting is
/// remembered, so the waiter never misses it (Asio's cancel_one() on an idle timer would be lost).
class Wakeup {
 public:
  explicit Wakeup(boost::asio::any_io_executor executor);
  ~Wakeup();
  boost::asio::awaitable<void> wait();
  void notify();

 private:
  struct Timer;
  std::unique_ptr<Timer> timer_;
  bool pending_ = false;
};

/// Semaphore bounds how many coroutines are inside a section at once (e.g. handshakes in
/// flight); waiters are admitted in arrival order. One thread only: no locking.
class Semaphore {
 public:
  Semaphore(boost::asio::any_io_executor executor, int limit);
  ~Semaphore();
  boost::asio::awaitable<void> acquire();
  void release();

 private:
  struct Waiter;
  boost::asio::any_io_executor executor_;
  int available_;
  std::deque<std::shared_ptr<Waiter>> waiters_;
};

/// Releases a semaphore when it goes out of scope, including on exceptions.
class Permit {
 public:
  explicit Permit(Semaphore& semaphore) : semaphore_(&semaphore) {}
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;
  ~Permit() { release(); }
  void release() {
    if (semaphore_) std::exchange(semaphore_, nullptr)->release();
  }

 private:
  Semaphore* semaphore_;
};

}  // namespace deployd::engine
