// SPDX-License-Identifier: MIT
// Reading `tasks`: each task's keys, and its steps with `cd` blocks flattened.
#pragma once

#include <string>
#include <vector>

#include "plan/draft.hpp"

namespace deployd::plan {

/// Reads `tasks` in document order; names are checked against each other later (validate).
/// `shell` is the plan's `"shell"` (empty: sh), which a task's own replaces.
std::vector<TaskDraft> read_tasks(const Node& node, Diagnostics& diags,
                                  const std::vector<std::string>& shell = {});

/// A name or a list of names (`needs`, `on`), with where each one is written.
std::vector<std::string> read_names(const Node& node, std::vector<Where>& at, Diagnostics& diags);

/// Reads a list of steps into `task.task.steps`, flattening `cd` blocks (see steps_reader.cpp);
/// each step starts from `scope` (the task's shell and prefix).
void read_steps(const Node& list, TaskDraft& task, Diagnostics& diags, const Step& scope = {});

}  // namespace deployd::plan
