// SPDX-License-Identifier: MIT
// `--retry-failed [RUN_ID]` taken out of argv before CLI11 sees it.
#pragma once

#include <string>
#include <vector>

namespace deployd::cli {

/// argv with the value of `--retry-failed` taken out. CLI11 cannot tell an optional value from
/// the positional PLAN, so the word after `--retry-failed` is its value only when it has the
/// shape of a run id, or of a mistyped one (8 digits and a T: the run lookup then suggests the
/// run meant); `--retry-failed=RUN_ID` is taken too.
struct RetryArgs {
  std::vector<std::string> args;  ///< argv, with `--retry-failed` left as a plain flag
  bool retry = false;
  std::string run_id;  ///< empty: the latest run
  std::string error;   ///< a usage error (exit 2)
};

RetryArgs take_retry_args(std::vector<std::string> args);

}  // namespace deployd::cli
