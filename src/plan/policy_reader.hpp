// SPDX-License-Identifier: MIT
// Reading the plan's `policy` and the overrides a task's `policy` may hold.
#pragma once

#include "deployd/plan.hpp"
#include "plan/document.hpp"

namespace deployd::plan {

/// Reads the plan-level `policy`, starting from the contract's defaults.
Policy read_policy(const Node& node, Diagnostics& diags);

/// Reads a task's `policy`: max_failures, on_failure, retries, retry_delay and timeout.
TaskPolicy read_task_policy(const Node& node, Diagnostics& diags);

/// A timeout: a duration above zero.
std::optional<Duration> read_timeout(const Node& node, Diagnostics& diags);

}  // namespace deployd::plan
