// SPDX-License-Identifier: MIT
// One failure budget: how many failed hosts a run (or a task) tolerates before it aborts.
#pragma once

#include "deployd/plan.hpp"

namespace deployd::sched {

/// FailureBudget counts failed hosts against `max_failures` and `on_failure` (plan-format.md,
/// Policy): one failure more than tolerated, or any failure under `abort`, aborts the run.
class FailureBudget {
 public:
  /// A percentage is taken of `hosts`, the hosts the budget covers; 100% tolerates them all.
  FailureBudget(Amount max_failures, OnFailure on_failure, int hosts);

  /// Counts one more failed host; true when the run must abort now.
  bool count_failure();

  int failures() const { return failures_; }
  /// Failed hosts tolerated: one more aborts.
  int allowed() const { return allowed_; }

 private:
  OnFailure on_failure_;
  int allowed_ = 0;
  int failures_ = 0;
};

}  // namespace deployd::sched
