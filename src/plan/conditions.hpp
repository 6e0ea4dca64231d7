// SPDX-License-Identifier: MIT
// A step's conditions at run time (plan-format.md, "Conditions"): `when` with the status
// functions, `changed_when` and `failed_when`, and the fields `register` adds.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "deployd/plan.hpp"
#include "plan/vars.hpp"

namespace deployd::plan {

/// Whether a step (or task) runs on a host, and if not, why.
struct WhenVerdict {
  bool runs = true;
  std::string reason;  ///< not run: `when "mode == 'full'" is false`, `an earlier step failed`
  std::string error;   ///< a condition could not be evaluated: the step fails with it
  std::string missing;  ///< with `error`: the variable that had no value (a registered one?)
};

/// `when` of a step on its host. `host_failed`: an earlier step of the task failed there. A
/// step whose conditions call none of success(), failure(), always() runs only while the host
/// has not failed (success() is the default); otherwise its conditions alone decide.
WhenVerdict check_when(const std::vector<Condition>& when, const VarContext& vars,
                       bool host_failed);

/// True if the step's conditions call a status function (it may run after a failure).
bool decides_after_failure(const std::vector<Condition>& when);

/// What a finished command gives changed_when, failed_when and `register`.
struct CommandResult {
  int rc = 0;
  std::string stdout_text;  ///< the last kRegisteredTail bytes, without a final newline
  std::string stderr_text;  ///< likewise
};

/// `NAME.stdout` and `NAME.stderr` keep the last 64 KiB of each stream ({{NAME}} keeps all of
/// the stdout, up to the 16 MiB a registered value may hold).
inline constexpr std::size_t kRegisteredTail = 64 << 10;

/// changed_when and failed_when, each set only when the step has it; `error` when one could not
/// be evaluated.
struct ResultVerdict {
  std::optional<bool> changed;
  std::optional<bool> failed;
  std::string error;
};

ResultVerdict check_result(const Step& step, const VarContext& vars, const CommandResult& result);

/// Adds NAME.rc, NAME.stdout, NAME.stderr, NAME.changed, NAME.skipped and NAME.failed.
void register_fields(VarMap& registered, const std::string& name, const CommandResult& result,
                     bool changed, bool failed);

/// A skipped step's NAME: empty output, NAME.skipped true, the rest false or empty.
void register_skipped(VarMap& registered, const std::string& name);

/// The fields `register` adds, for validation and for sharing across hosts.
const std::vector<std::string>& registered_fields();

}  // namespace deployd::plan
