// SPDX-License-Identifier: MIT
// Ad-hoc commands (`deployd -H HOSTS -- COMMAND...`): one command run as a one-task plan.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "deployd/load.hpp"
#include "report/run_record.hpp"

namespace deployd::cli {

/// The task an ad-hoc command runs as: events, the run log and the summary name it.
inline constexpr std::string_view kAdHocTask = "ad-hoc";

/// The file name the plan text is parsed as (its errors are said of the command instead).
inline constexpr std::string_view kAdHocFile = "(ad-hoc command)";

/// The words after the first `--` of `args` (argv), which keeps what comes before; empty when
/// there is no `--`.
std::optional<std::vector<std::string>> take_command(std::vector<std::string>& args);

/// The words as one shell command, joined by spaces as Fabric's `fab -H host -- command` and
/// ssh do: `-- 'df -h /; uptime'` and `-- df -h /` are the same. Empty when there is nothing
/// but blanks.
std::string join_command(const std::vector<std::string>& words);

/// The one-task plan that runs `command`, as JSON text for parse_plan: the task `ad-hoc` with
/// one `run` step on every host (`-H` or the inventories), through sudo and with a timeout when
/// asked. Its command is a template as any step's, so `{{host}}` works. Empty when the command
/// is not UTF-8 (a plan cannot hold it either).
std::optional<std::string> ad_hoc_plan_text(const report::AdHocRecord& command);

/// Loads the one-task plan of `command` with the command line's hosts and inventories. Errors
/// in the generated text are said of the command, not of a file nobody wrote; with no `-H` and
/// no inventory, one error says what to give.
LoadResult load_ad_hoc(const report::AdHocRecord& command, const LoadOptions& options);

/// A usage error of the ad-hoc options, or empty: --sudo and --timeout apply to an ad-hoc
/// command only, and --timeout must be a duration.
std::string check_ad_hoc_options(bool is_ad_hoc, bool sudo, const std::string& timeout);

}  // namespace deployd::cli
