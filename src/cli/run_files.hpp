// SPDX-License-Identifier: MIT
// What a run records beside its events: run.json (command line, user, policy, waves), and the
// HTML report that `--report FILE` asks for at the end of the run.
#pragma once

#include <string>
#include <vector>

#include "cli/options.hpp"
#include "cli/reporting.hpp"
#include "deployd/plan.hpp"

namespace deployd::cli {

/// An error when `--report FILE` or `--junit FILE` cannot be written where asked (its folder
/// does not exist), or when the `--output-dir` folder cannot be made.
std::string check_report_file(const Options& options);

/// Has the run log write run.json when the run starts (run_start brings the waves) and, with
/// `--report`, adds the report's writer after the run log (so it reads the finished log). A
/// run.json that cannot be written is only warned about: the run goes on.
void add_run_files(Reporting& reporting, const Options& options, const Plan& plan,
                   const std::vector<const Task*>& tasks, const std::vector<const Host*>& hosts,
                   const std::vector<std::string>& argv);

}  // namespace deployd::cli
