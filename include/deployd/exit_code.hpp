// SPDX-License-Identifier: MIT
// The process exit statuses of the contract (plan-format.md, "Command line").
#pragma once

namespace deployd {

enum class ExitCode : int {
  Ok = 0,           ///< every targeted host succeeded
  HostsFailed = 1,  ///< the run finished and some hosts failed
  InvalidPlan = 2,  ///< invalid plan or usage: nothing was run
  Aborted = 3,      ///< aborted by the failure policy
  LogIncomplete = 74,  ///< all went well but the run log could not be written whole (EX_IOERR)
  Interrupted = 130,
};

}  // namespace deployd
