// SPDX-License-Identifier: MIT
// `"shell"` and `"prefix"` (plan-format.md, "Shells"): which shell runs a step's command, and
// what runs before it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "deployd/plan.hpp"
#include "plan/draft.hpp"

namespace deployd::plan {

/// `"shell"`: "sh" (the default, an empty list), "bash" (`bash -c`), or a command line whose
/// last word is an option ending in `c`, which the command follows: ["bash", "-l", "-c"].
std::optional<std::vector<std::string>> read_shell(const Node& node, Diagnostics& diags);

/// The `"shell"` and `"prefix"` of a task or `cd` block (`object`), into `scope`: a prefix is
/// added after the outer ones, and checked as a template from the scope's first step on.
void read_shell_scope(const Node& object, Step& scope, TaskDraft& task, Diagnostics& diags);

}  // namespace deployd::plan
