// SPDX-License-Identifier: MIT
// How the run stops what one host is doing (an abort's grace ran out, a second Ctrl-C).
#pragma once

#include <functional>
#include <utility>

namespace deployd::base {

/// Cancel is one host's stop button. The operation in flight (a command, a transfer, a retry
/// delay) installs an action for as long as it runs; request() calls it once. A request is
/// remembered: an operation about to start checks is_requested() and does not start.
/// One thread only, like everything in the engine.
class Cancel {
 public:
  Cancel() = default;
  Cancel(const Cancel&) = delete;
  Cancel& operator=(const Cancel&) = delete;

  bool is_requested() const { return requested_; }

  void request() {
    if (requested_) return;
    requested_ = true;
    if (action_) std::exchange(action_, nullptr)();
  }

  /// Keeps `action` installed while it lives.
  class Scope {
   public:
    Scope(Cancel& cancel, std::function<void()> action) : cancel_(cancel) {
      cancel_.action_ = std::move(action);
    }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope() { cancel_.action_ = nullptr; }

   private:
    Cancel& cancel_;
  };

 private:
  bool requested_ = false;
  std::function<void()> action_;
};

}  // namespace deployd::base
