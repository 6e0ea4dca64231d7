// SPDX-License-Identifier: MIT
// Runs one step of one job on an open connection and reports its events.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "async/awaitable.hpp"
#include "base/cancel.hpp"
#include "base/secret_mask.hpp"
#include "deployd/plan.hpp"
#include "deployd/reporter.hpp"
#include "engine/get_claims.hpp"
#include "engine/transport.hpp"
#include "plan/template_text.hpp"
#include "plan/vars.hpp"

namespace deployd::engine {

/// Everything one step needs, borrowed from the running job.
struct StepContext {
  const Plan& plan;
  const Host& host;
  const Task& task;
  int index;  ///< the step's index among the task's flattened steps
  Connection& connection;
  Reporter& reporter;
  const std::string& run_id;
  VarMap& registered;  ///< this host's registered variables; `register` adds to it
  base::Cancel& cancel;  ///< the host's stop button (an abort's grace ran out, a second Ctrl-C)
  const std::string& cancel_reason;  ///< why the run cancels its steps, e.g. "the run was aborted"
  base::SecretMask& secrets;  ///< learns what `secret` steps register (in front of `reporter`)
  GetClaims& get_claims;             ///< the run's local paths written by `get`, per host
  int attempt = 1;                   ///< 1 for the first try, then 2, 3... with `retries`
  /// How messages name the step on this host, name and command resolved (set by run_step).
  std::string title{};
};

/// How a step ended, for the job that ran it.
struct StepOutcome {
  StepStatus status = StepStatus::Ok;
  bool fails_host = false;       ///< failed or timed out, and not ignore_errors
  bool connection_lost = false;  ///< the session is unusable: the host stops
  std::string error;             ///< one line: task, step, command and cause
  bool cancelled = false;        ///< the run cancelled it: the host ends as aborted
  bool retryable = false;        ///< a failure that `retries` may try again
  /// The step changed the host: set by each kind of step, the one place a later override
  /// (`changed_when`) decides; copied to step_end and read by `notify`.
  bool changed = false;
};

/// One attempt of a step: how it went and the step_end event that will say so.
struct Attempt {
  StepOutcome outcome;
  StepEnd end;
};

/// Where an interpolated string goes: what a registered value (host output: data, never
/// trusted, docs/architecture.md "Trust model") may hold there.
enum class VarUse {
  Text,        ///< anything: a remote command, a remote path, an env value, a name
  LocalShell,  ///< a `local` command: unfiltered, only one plain shell word (else `| q`/`| raw`)
  LocalPath,   ///< a controller path: never absolute, never a `..` component
};

/// Interpolates one step's strings for its host, remembering the names that had no value and
/// the registered values that may not be used where they were.
class StepVars {
 public:
  explicit StepVars(const StepContext& context)
      : vars_{&context.plan,
              &context.host,
              &context.registered,
              context.run_id,
              context.task.steps[static_cast<std::size_t>(context.index)].delegate_to,
              &context.task.steps[static_cast<std::size_t>(context.index)].loop_vars} {}
  std::string operator()(const std::string& text, VarUse use = VarUse::Text);
  /// A template file (issue 18) rendered for the host; an error (`FILE:3:5: undefined variable
  /// "x"`) fails the step through missing_value.
  std::string render(const plan::TextTemplate& text, const std::string& file);
  /// plan-format.md: a registered name without a value at run time, or a registered value a
  /// local command or path refuses, fails that host's step. The outcome saying so, or nullopt.
  std::optional<StepOutcome> missing_value(const StepContext& context, const Step& step) const;

 private:
  plan::VarContext vars_;
  std::vector<std::string> missing_;
  std::string refused_;  ///< the first registered value refused, and why
};

/// Reports step_start, the step's output lines and step_end, and returns the outcome. With
/// `retries`, a failed attempt that may pass again is reported (its step_end error says which
/// attempt and when the next starts) and the step runs again after the delay, doubled each time.
boost::asio::awaitable<StepOutcome> run_step(StepContext context);

/// The step's effective timeout, retries and first retry delay: the step's own, else its
/// task's policy, else the plan's.
std::optional<Duration> step_timeout(const StepContext& context, const Step& step);
int step_retries(const StepContext& context, const Step& step);
Duration step_retry_delay(const StepContext& context, const Step& step);

/// Reports a step whose `when` could not be evaluated as failed with `error`, and its outcome.
StepOutcome report_condition_error(Reporter& reporter, const Host& host, const Task& task,
                                   int index, const std::string& error);

/// Reports a step as skipped (its job was skipped or its host stopped) without running it.
void report_skipped_step(Reporter& reporter, const Host& host, const Task& task, int index,
                         const std::string& reason);

}  // namespace deployd::engine
