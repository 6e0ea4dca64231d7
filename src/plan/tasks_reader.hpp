// SPDX-License-Identifier: MIT
// Reading `tasks`: each task's keys, and its steps with `cd` blocks flattened.
#pragma once

#include <vector>

#include "plan/draft.hpp"

namespace deployd::plan {

/// Reads `tasks` in document order; names are checked against each other later (validate).
std::vector<TaskDraft> read_tasks(const Node& node, Diagnostics& diags);

/// A name or a list of names (`needs`, `on`), with where each one is written.
std::vector<std::string> read_names(const Node& node, std::vector<Where>& at, Diagnostics& diags);

/// Reads a list of steps into `task.task.steps`, flattening `cd` blocks (see steps_reader.cpp).
void read_steps(const Node& list, TaskDraft& task, Diagnostics& diags);

}  // namespace deployd::plan
