// SPDX-License-Identifier: MIT
// Plan features the engine does not run yet, reported before anything connects.
#pragma once

#include <vector>

#include "deployd/diagnostic.hpp"
#include "deployd/plan.hpp"

namespace deployd::engine {

/// One diagnostic per use of a contract feature this build cannot run yet, so a plan that
/// relies on one stops with exit 2 instead of running halfway.
std::vector<Diagnostic> unsupported_features(const Plan& plan, const std::vector<const Task*>& tasks);

}  // namespace deployd::engine
