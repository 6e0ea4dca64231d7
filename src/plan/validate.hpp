// SPDX-License-Identifier: MIT
// Checks across the whole plan once it is read: needs and cycles, `on` targets, and variables.
#pragma once

#include <string>
#include <vector>

#include "plan/draft.hpp"

namespace deployd::plan {

/// Checks needs (unknown tasks, cycles) and resolves each task's `on` into `hosts`, or into
/// `command_line_hosts` (`-H`) for remote tasks when that is not empty. A task left without
/// hosts is an error unless `has_bad_hosts` (hosts were rejected: the error would be noise).
/// `allow_no_hosts` (--list): a task that targets no host is not an error.
void validate_tasks(const Plan& plan, std::vector<TaskDraft>& tasks,
                    const std::vector<std::string>& command_line_hosts, bool has_bad_hosts,
                    Diagnostics& diags, bool allow_no_hosts = false);

/// Checks that each `delegate_to` names a host of the plan (or is "local").
void validate_delegates(const Plan& plan, const std::vector<TaskDraft>& tasks, Diagnostics& diags);

/// Replaces each `for_each` step (or block, nested ones too) with one copy per item of its list
/// on each host of its task (`task.hosts`, resolved by validate_tasks), each with its loop
/// variables; a list that is not one, or an unknown variable, is an error at `for_each`.
void expand_loops(const Plan& plan, std::vector<TaskDraft>& tasks, Diagnostics& diags);

/// Checks `notify` names (a known task, a handler, on the same side: local or remote) and fills
/// each handler's `notified_by`, which orders it after its notifiers (checked for cycles by
/// validate_tasks).
void validate_notify(std::vector<TaskDraft>& tasks, Diagnostics& diags);

/// Checks every template of every task: well formed, and each name resolvable on each targeted
/// host unless registered earlier (in the same task, or in a task it needs, transitively).
void validate_vars(const Plan& plan, const std::vector<TaskDraft>& tasks, Diagnostics& diags);

/// Warnings for `--var` names that no string of the plan uses (`--var verison: no string of the
/// plan uses it (did you mean "version"?)`): likely misspelt, and never silently ignored.
std::vector<Diagnostic> unused_cli_vars(const Plan& plan, const std::vector<TaskDraft>& tasks);

/// issue 18: reads and parses the file of every `template` step (relative to the step's folder,
/// else the plan file's), once per file, and adds a TemplateSite for each name it reads, which
/// validate_vars then checks. A missing file or one that does not parse is an error at its own
/// line:column; `read_files` false (a hermetic load) refuses every template step.
void read_templates(std::vector<TaskDraft>& tasks, const std::string& plan_file, bool read_files,
                    Diagnostics& diags);

/// An error at `line`:`column` of the template file `file`, naming the step that reads it.
Diagnostic template_diagnostic(const std::string& file, int line, int column, std::string message,
                               const Where& step);

/// Checks `put` and `get` steps: no two hosts of a task may `get` into the same local path, and,
/// when `check_files` (the plan was read from disk), a `put` source without run-time variables
/// must exist, relative to the plan file's folder.
void validate_transfers(const Plan& plan, const std::vector<TaskDraft>& tasks,
                        const std::string& plan_file, bool check_files, Diagnostics& diags);

}  // namespace deployd::plan
