// SPDX-License-Identifier: MIT
// A run as a library call: a loaded plan in, events out (examples/embed/ shows a whole program).
#pragma once

#include <stop_token>
#include <string>
#include <vector>

#include "deployd/diagnostic.hpp"
#include "deployd/event.hpp"
#include "deployd/exit_code.hpp"
#include "deployd/plan.hpp"
#include "deployd/reporter.hpp"

namespace deployd {

/// What run() runs, and how.
struct RunOptions {
  /// The tasks to run, each with the tasks it needs (plan-format.md, "needs"); empty: the
  /// plan's default tasks, or every task when none is marked default.
  std::vector<std::string> tasks;
  int forks = 0;       ///< hosts worked on at once; 0: the plan's policy.forks
  std::string run_id;  ///< the run_start event's id
};

/// How a run went.
struct RunResult {
  /// Why nothing ran (an unknown task, an identity that cannot be read): the reporter then saw
  /// no event at all.
  std::vector<Diagnostic> errors;
  /// What went wrong without failing the run: new host keys that could not be saved.
  std::vector<std::string> warnings;
  /// The run_end event the reporter saw last, when the run started.
  RunEnd end;

  /// The exit status of the contract (plan-format.md, "Exit status"): the run's, or 2 (invalid
  /// plan or usage) when nothing ran.
  int exit_code() const {
    return errors.empty() ? end.exit_code : static_cast<int>(ExitCode::InvalidPlan);
  }
};

/// Runs `options.tasks` of `plan` (from load_plan) over SSH, reporting every event to
/// `reporter` on this thread, then calls reporter.finish(). Blocks until the run ends.
/// A request on `stop` (from any thread) is a first SIGTERM: nothing new starts, running steps
/// get the plan's abort_grace to finish, and the run ends `interrupted` (exit 143).
/// The calling process's signals are left alone: SIGPIPE is ignored (libssh2 needs it).
RunResult run(const Plan& plan, const RunOptions& options, Reporter& reporter,
              std::stop_token stop = {});

}  // namespace deployd
