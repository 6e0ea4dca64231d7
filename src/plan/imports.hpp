// SPDX-License-Identifier: MIT
// `imports` (plan-format.md, "Imports"): task files read under a name, their tasks renamed
// NAME:TASK.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plan/draft.hpp"

namespace deployd::plan {

/// A variable two imported files set to different values, unless a higher level sets it.
struct VarClash {
  std::string name;
  Where first;
  Where second;
};

/// What the imported files add to a plan: their tasks, renamed, and their vars (defaults that
/// the plan's vars override).
struct Imports {
  std::vector<TaskDraft> tasks;
  Vars vars;
  std::vector<VarClash> var_clashes;
};

/// Reads the `imports` of the plan `root` and, recursively, of the files they name. The parsed
/// files go into `docs`, which must outlive the drafts (their locations point into them).
Imports read_imports(const Node& root, Diagnostics& diags,
                     std::vector<std::unique_ptr<Document>>& docs);

/// Reports a task name defined twice (the plan's and an import's, or two imports'), with both
/// places.
void check_task_names(const std::vector<TaskDraft>& tasks, Diagnostics& diags);

/// Reports each clash the plan does not settle by setting the variable itself in `vars`.
void check_var_clashes(const std::vector<VarClash>& clashes, const Vars& vars,
                       Diagnostics& diags);

}  // namespace deployd::plan
