// SPDX-License-Identifier: MIT
// Failure budgets (see failure_budget.hpp).
#include "sched/failure_budget.hpp"

namespace deployd::sched {

FailureBudget::FailureBudget(Amount max_failures, OnFailure on_failure, int hosts)
    : on_failure_(on_failure),
      // Amount::of rounds up; 100% must tolerate every host, whatever the rounding.
      allowed_(max_failures.is_percent && max_failures.value >= 100 ? hosts
                                                                    : max_failures.of(hosts)) {}

bool FailureBudget::count_failure() {
  ++failures_;
  return on_failure_ == OnFailure::Abort || failures_ > allowed_;
}

}  // namespace deployd::sched
