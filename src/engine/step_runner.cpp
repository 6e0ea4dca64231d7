// SPDX-License-Identifier: MIT
// One step: interpolate, build the remote command, exec, turn output chunks into line events.
#include "engine/step_runner.hpp"

#include <fmt/format.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <optional>

#include "async/awaitable.hpp"
#include "base/duration_text.hpp"
#include "base/line_splitter.hpp"
#include "engine/remote_command.hpp"
#include "engine/remote_process.hpp"
#include "engine/step_text.hpp"
#include "engine/transfer_step.hpp"
#include "local/local_process.hpp"
#include "plan/conditions.hpp"
#include "plan/suggest.hpp"

namespace deployd::engine {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A registered value larger than this fails the step rather than growing without bound.
constexpr std::size_t kMaxRegisteredBytes = 16 << 20;

// How long stopping a timed-out or cancelled command's process group may take in all.
constexpr Duration kStopGroupTimeout{10'000};

// The step's command with every variable resolved.
CommandSpec resolve(const Step& step, StepVars& fill) {
  CommandSpec spec;
  const bool is_local = step.kind == StepKind::Local;
  spec.command = fill(step.command, is_local ? VarUse::LocalShell : VarUse::Text);
  spec.cwd = fill(step.cwd, is_local ? VarUse::LocalPath : VarUse::Text);
  for (const auto& [name, value] : step.env) spec.env[name] = fill(value);
  if (step.sudo_user) spec.sudo_user = fill(*step.sudo_user);
  if (step.creates) spec.skip_if_exists = fill(*step.creates);
  if (step.removes) spec.skip_unless_exists = fill(*step.removes);
  spec.shell = step.shell;
  for (const std::string& prefix : step.prefixes)
    spec.prefixes.push_back(fill(prefix, is_local ? VarUse::LocalShell : VarUse::Text));
  spec.is_secret = step.hides_command();  // secret or no_log: kept out of the host's ps too
  return spec;
}

// Splits a stream's chunks into lines and reports each as an output event. A secret step's
// output may hold its command (`set -x`, "not found") or the value it registers: its lines are
// counted, never shown, and one line per stream says how many were hidden. So is a no_log step's.
class OutputLines {
 public:
  OutputLines(const StepContext& context, OutputStream stream, const Step& step)
      : context_(context), stream_(stream), is_hidden_(step.hides_command()), hidden_by_(step.secret ? "secret" : "no_log") {}
  void feed(std::string_view chunk) {
    for (base::LineSplitter::Line& line : splitter_.feed_lines(chunk))
      report(std::move(line.text), line.is_partial);
  }
  void flush() {
    if (std::optional<std::string> rest = splitter_.flush()) report(std::move(*rest), false);
    if (hidden_ == 0) return;
    std::string said = fmt::format("<{} output: {} line{} hidden>", hidden_by_, hidden_, hidden_ == 1 ? "" : "s");
    emit(context_.reporter,
         Output{context_.host.name, context_.task.name, context_.index, stream_, std::move(said)});
  }

 private:
  // A long line comes in pieces flagged partial, so a reader of the events can join them.
  void report(std::string line, bool is_partial) {
    if (is_hidden_) {
      hidden_ += is_partial ? 0 : 1;
      return;
    }
    emit(context_.reporter, Output{context_.host.name, context_.task.name, context_.index, stream_,
                                   std::move(line), is_partial});
  }
  const StepContext& context_;
  OutputStream stream_;
  bool is_hidden_;
  const char* hidden_by_;
  int hidden_ = 0;
  base::LineSplitter splitter_;
};

// `error_loses_session`: an ExecResult error means the SSH session broke (a remote step), or
// only that the process could not start (a local step: the session is untouched).
StepOutcome judge(const StepContext& context, const Step& step, const ExecResult& result,
                  SteadyClock::duration elapsed, bool error_loses_session, StepEnd& end) {
  StepOutcome outcome;
  const std::string& title = context.title;
  end.exit_status = result.exit_status;
  end.exit_signal = result.exit_signal;
  if (result.exit_status == 0) return outcome;
  outcome.status = StepStatus::Failed;
  outcome.retryable = true;
  if (result.cancelled) {
    outcome.cancelled = true;
    outcome.retryable = false;
    outcome.error = fmt::format("{}: cancelled after {}: {}", title, base::elapsed_text(elapsed),
                                context.cancel_reason);
  } else if (result.timed_out) {
    outcome.status = StepStatus::TimedOut;
    outcome.error = fmt::format("{}: timed out after {}", title, base::elapsed_text(elapsed));
  } else if (!result.error.empty()) {
    outcome.connection_lost = error_loses_session;
    outcome.retryable = !error_loses_session;
    outcome.error = fmt::format("{}: {}", title, result.error);
  } else if (!result.exit_signal.empty()) {
    outcome.error = fmt::format("{}: killed by signal {} after {}", title, result.exit_signal,
                                base::elapsed_text(elapsed));
  } else {
    outcome.error = fmt::format("{}: exited with status {} after {}", title,
                                result.exit_status.value_or(-1), base::elapsed_text(elapsed));
  }
  outcome.fails_host = !step.ignore_errors || outcome.connection_lost || outcome.cancelled;
  return outcome;
}

// Keeps the last kRegisteredTail bytes of a stream.
void keep_tail(std::string& tail, std::string_view chunk) {
  tail.append(chunk.substr(
      chunk.size() > plan::kRegisteredTail ? chunk.size() - plan::kRegisteredTail : 0));
  if (tail.size() > plan::kRegisteredTail) tail.erase(0, tail.size() - plan::kRegisteredTail);
}

std::string without_final_newline(std::string text) {
  if (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

// plan-format.md, "Step results": a command that ran to its exit has a result: failed_when and
// changed_when may override how it is judged, and `register` adds its fields. Returns whether
// the step registers its stdout (it ran to its exit).
bool apply_result_conditions(const StepContext& context, const Step& step, const ExecResult& result,
                             const std::string& captured, const std::string& captured_err,
                             StepOutcome& outcome) {
  const bool ran =
      result.exit_status && !result.timed_out && !result.cancelled && result.error.empty();
  if (!ran) return false;
  plan::CommandResult command{
      *result.exit_status,
      without_final_newline(captured.substr(
          captured.size() > plan::kRegisteredTail ? captured.size() - plan::kRegisteredTail : 0)),
      without_final_newline(captured_err)};
  const plan::VarContext vars{&context.plan,  &context.host,    &context.registered,
                              context.run_id, step.delegate_to, &step.loop_vars};
  plan::ResultVerdict verdict = plan::check_result(step, vars, command);
  if (!verdict.error.empty()) {
    outcome = StepOutcome{StepStatus::Failed, !step.ignore_errors, false,
                          fmt::format("{}: {}", context.title, verdict.error)};
  } else if (verdict.failed == false && outcome.status == StepStatus::Failed) {
    outcome = StepOutcome{};  // failed_when is false: the exit status does not count
  } else if (verdict.failed == true && outcome.status == StepStatus::Ok) {
    outcome = StepOutcome{StepStatus::Failed, !step.ignore_errors, false,
                          fmt::format("{}: failed_when {} is true (exit status {})", context.title,
                                      plan::quote(step.failed_when->text), command.rc)};
  }
  // plan-format.md, "Changed": a command that ran changed the host unless changed_when says not.
  outcome.changed = outcome.status == StepStatus::Ok && verdict.changed.value_or(true);
  if (!step.register_as.empty())
    plan::register_fields(context.registered, step.register_as, command, outcome.changed,
                          outcome.status != StepStatus::Ok);
  return true;
}

// Whose secret a registered value is: what a local or run_once task registers is seen by every
// host, so it is masked on every host; else it is the host's own (SecretMask, by length).
std::string secret_scope(const StepContext& context) {
  return context.task.is_local || context.task.run_once ? std::string() : context.host.name;
}

// After a timeout or a cancel, the remote command still runs: stop its process group over a
// second channel of the same session. Returns what to add to the step's error.
boost::asio::awaitable<std::string> stop_remote_group(const StepContext& context,
                                                      const CommandSpec& spec,
                                                      const ProcessGroupReader& reader) {
  if (!reader.group()) co_return "; its processes may still run (it reported no process group)";
  ExecRequest request{stop_group_command(*reader.group(), spec.sudo_user), {}, kStopGroupTimeout, {}};
  std::string said;
  request.on_output = [&said](OutputStream, std::string_view chunk) {
    if (said.size() < 200) said.append(chunk.substr(0, 200));
  };
  ExecResult result = co_await context.connection.exec(request);
  if (result.exit_status == 0) co_return "; its processes were stopped";
  std::string why = !result.error.empty() ? result.error
                    : result.timed_out   ? "timed out"
                    : said.empty()       ? fmt::format("exit status {}", result.exit_status.value_or(-1))
                                         : said;
  while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
  co_return fmt::format("; its process group {} could not be stopped: {}", *reader.group(), why);
}

// plan-format.md: a `local` step runs on the controller in the plan file's folder (joined with
// its `cd`). With `sudo`, env is exported inside the script, since sudo resets the environment.
boost::asio::awaitable<ExecResult> run_local_step(const StepContext& context, CommandSpec spec,
                                                  const ExecRequest& request) {
  local::LocalCommand command;
  const Step& step = context.task.steps[static_cast<std::size_t>(context.index)];
  command.directory = local::working_directory(
      step.directory.empty() ? context.plan.directory : step.directory, spec.cwd);
  command.timeout = request.timeout;
  command.cancel = &context.cancel;
  // The variables holding SSH passwords and passphrases are deployd's, not the command's.
  for (const Host& host : context.plan.hosts) {
    if (!host.password_env.empty()) command.unset_env.insert(host.password_env);
    if (!host.passphrase_env.empty()) command.unset_env.insert(host.passphrase_env);
  }
  spec.cwd.clear();
  if (spec.sudo_user) {
    command.command = shell_command(spec);
  } else {
    command.command = prefixed_command(spec);
    command.shell = std::move(spec.shell);
    command.env = std::move(spec.env);
  }
  ExecResult result = co_await local::run_local(command, request.on_output);
  co_return result;
}

}  // namespace

std::string StepVars::operator()(const std::string& text, VarUse use) {
  plan::Interpolated result = plan::interpolate(text, vars_);
  missing_.insert(missing_.end(), result.missing.begin(), result.missing.end());
  if (refused_.empty() && !result.error.empty()) refused_ = result.error;
  for (const plan::OutputValue& value : result.from_output) {
    if (!refused_.empty() || use == VarUse::Text) break;
    std::string shown = value.value.size() > 80 ? value.value.substr(0, 80) + "..." : value.value;
    const std::string what = fmt::format("variable \"{}\" is host output (registered, for host \"{}\")",
                                         value.name, vars_.host ? vars_.host->name : "local");
    if (use == VarUse::LocalPath) {
      if (std::string why = plan::host_path_error(plan::OutputValue{value.name, shown, false}); !why.empty())
        refused_ = fmt::format("{} and cannot name a path on the controller: {}", what, why);
    } else if (!value.is_filtered && !plan::is_shell_word(value.value)) {
      refused_ = fmt::format(
          "{} and holds shell characters ({}): write {{{{ {} | q }}}} to pass it as one word, or "
          "{{{{ {} | raw }}}} to run it as shell text",
          what, plan::quote(shown), value.name, value.name);
    }
  }
  return std::move(result.text);
}

std::string StepVars::render(const plan::TextTemplate& text, const std::string& file) {
  plan::VarScope scope(vars_);
  plan::RenderedText rendered = text.render(scope);
  if (!rendered.is_ok && refused_.empty())
    refused_ = fmt::format("{}:{}", file, rendered.error.to_string());
  return std::move(rendered.text);
}

std::optional<StepOutcome> StepVars::missing_value(const StepContext& context, const Step& step) const {
  if (!refused_.empty())
    return StepOutcome{StepStatus::Failed, !step.ignore_errors, false,
                       fmt::format("{}: {}", step_title(context.task, context.index, step), refused_)};
  if (missing_.empty()) return std::nullopt;
  return StepOutcome{StepStatus::Failed, !step.ignore_errors, false,
                     fmt::format("{}: variable \"{}\" has no value on this host",
                                 step_title(context.task, context.index, step), missing_.front())};
}

StepOutcome report_condition_error(Reporter& reporter, const Host& host, const Task& task,
                                   int index, const std::string& error) {
  const Step& step = task.steps[static_cast<std::size_t>(index)];
  StepOutcome outcome{StepStatus::Failed, !step.ignore_errors, false,
                      fmt::format("{}: {}", step_title(task, index, step), error)};
  StepEnd end{host.name, task.name, index, StepStatus::Failed, std::nullopt, "", 0, outcome.error};
  end.ignored = !outcome.fails_host;
  emit(reporter, end);
  return outcome;
}

void report_skipped_step(Reporter& reporter, const Host& host, const Task& task, int index,
                         const std::string& reason) {
  const Step& step = task.steps[static_cast<std::size_t>(index)];
  emit(reporter, StepEnd{host.name, task.name, index, StepStatus::Skipped, std::nullopt, "", 0,
                         fmt::format("{}: skipped: {}", step_title(task, index, step), reason)});
}

namespace {

// One attempt of a run or local step.
boost::asio::awaitable<Attempt> run_command_step(StepContext context) {
  const Step& step = context.task.steps[static_cast<std::size_t>(context.index)];
  StepEnd end{context.host.name, context.task.name, context.index, StepStatus::Ok, std::nullopt, "", 0, ""};

  StepVars vars(context);
  CommandSpec spec = resolve(step, vars);
  if (std::optional<StepOutcome> failure = vars.missing_value(context, step)) {
    end.status = failure->status;
    end.error = failure->error;
    co_return Attempt{*failure, std::move(end)};
  }

  // e.g. in a local step's start error
  if (step.hides_command()) context.secrets.add_exact(spec.command, context.host.name);
  OutputLines out(context, OutputStream::Stdout, step);
  OutputLines err(context, OutputStream::Stderr, step);
  ProcessGroupReader group;
  SkipReader skip;
  std::string captured;
  std::string captured_err;  // the last kRegisteredTail bytes, for NAME.stderr and failed_when
  bool capture_overflow = false;
  const bool is_local = step.kind == StepKind::Local;
  spec.report_process_group = !is_local;
  RemoteCommand remote = is_local ? RemoteCommand{} : remote_command(spec);
  ExecRequest request{std::move(remote.exec), {}, step_timeout(context, step), std::move(remote.script)};
  request.on_output = [&](OutputStream stream, std::string_view chunk) {
    if (stream == OutputStream::Stderr && !is_local) chunk = skip.filter(group.filter(chunk));
    (stream == OutputStream::Stdout ? out : err).feed(chunk);
    if (stream == OutputStream::Stderr) return keep_tail(captured_err, chunk);
    if (step.register_as.empty()) {
      if (step.changed_when || step.failed_when) keep_tail(captured, chunk);
      return;
    }
    if (captured.size() + chunk.size() > kMaxRegisteredBytes) capture_overflow = true;
    if (!capture_overflow) captured.append(chunk);
  };

  SteadyClock::time_point started = SteadyClock::now();
  ExecResult result;
  const bool never_started = context.cancel.is_requested();  // cancelled since step_start
  if (never_started) {
    result.cancelled = true;
  } else if (is_local) {
    result = co_await run_local_step(context, spec, request);
  } else {
    base::Cancel::Scope on_cancel(context.cancel,
                                  [&connection = context.connection] { connection.cancel(); });
    result = co_await context.connection.exec(request);
  }
  SteadyClock::duration elapsed = SteadyClock::now() - started;
  if (std::string held = group.take_held_back(); !held.empty()) err.feed(skip.filter(held));
  if (std::string held = skip.take_held_back(); !held.empty()) err.feed(held);
  out.flush();
  err.flush();

  StepOutcome outcome = judge(context, step, result, elapsed, /*error_loses_session=*/!is_local, end);
  if (outcome.status == StepStatus::Ok && skip.skipped_by() != 0) {
    // plan-format.md, `creates`/`removes`: skipped, not changed; what it registers is empty.
    outcome.status = StepStatus::Skipped;
    outcome.error =
        skip.skipped_by() == 'c'
            ? fmt::format("{}: skipped: creates \"{}\" exists", context.title, *spec.skip_if_exists)
            : fmt::format("{}: skipped: removes \"{}\" does not exist", context.title,
                          *spec.skip_unless_exists);
    captured.clear();
  }
  if (!is_local && !never_started && (result.timed_out || result.cancelled))
    outcome.error += co_await stop_remote_group(context, spec, group);
  bool registers = false;
  if (outcome.status == StepStatus::Skipped) {
    // Not run: changed_when and failed_when do not apply, and its fields say it was skipped.
    outcome.changed = false;
    if (!step.register_as.empty()) plan::register_skipped(context.registered, step.register_as);
  } else {
    registers = apply_result_conditions(context, step, result, captured, captured_err, outcome);
  }
  if (registers && !step.register_as.empty()) {
    if (capture_overflow) {
      outcome = StepOutcome{StepStatus::Failed, true, false,
                            fmt::format("{}: output too large to register (over {} MiB)",
                                        context.title, kMaxRegisteredBytes >> 20)};
    } else {
      if (!captured.empty() && captured.back() == '\n') captured.pop_back();
      // Masked in every later line and error; a no_log step's value is an ordinary one.
      if (step.secret)
        for (const std::string* value :
             {&captured, &context.registered[step.register_as + ".stdout"],
              &context.registered[step.register_as + ".stderr"]})
          context.secrets.add(*value, secret_scope(context));
      context.registered[step.register_as] = std::move(captured);
    }
  }
  end.status = outcome.status;
  end.error = outcome.error;
  end.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  co_return Attempt{std::move(outcome), std::move(end)};
}

// Waits `delay` unless the host is cancelled first; true if the whole delay passed.
boost::asio::awaitable<bool> wait_unless_cancelled(base::Cancel& cancel, Duration delay) {
  if (cancel.is_requested()) co_return false;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, delay);
  base::Cancel::Scope on_cancel(cancel, [&timer] { timer.cancel(); });
  boost::system::error_code ec;
  co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
  co_return !cancel.is_requested();
}

}  // namespace

std::optional<Duration> step_timeout(const StepContext& context, const Step& step) {
  if (step.timeout) return step.timeout;
  if (context.task.policy.timeout) return context.task.policy.timeout;
  return context.plan.policy.timeout;
}

int step_retries(const StepContext& context, const Step& step) {
  return step.retries.value_or(context.task.policy.retries.value_or(context.plan.policy.retries));
}

Duration step_retry_delay(const StepContext& context, const Step& step) {
  return step.retry_delay.value_or(context.task.policy.retry_delay.value_or(context.plan.policy.retry_delay));
}

namespace {

// issue 19: a failed attempt that will be retried reads as one, not as a failure:
// `deploy step 1 (run "x"): attempt 1 of 2 failed (timed out after 2.0s); retrying in 1s`.
std::string retry_text(const std::string& title, std::string error, int attempt, int attempts,
                       Duration delay) {
  std::string head = title + ": ";
  if (error.starts_with(head))
    error.erase(0, head.size());
  else
    head.clear();
  return fmt::format("{}attempt {} of {} failed ({}); retrying in {}", head, attempt, attempts,
                     error, base::duration_text(delay));
}

}  // namespace

boost::asio::awaitable<StepOutcome> run_step(StepContext context) {
  const Step& step = context.task.steps[static_cast<std::size_t>(context.index)];
  const bool is_transfer =
      step.kind == StepKind::Put || step.kind == StepKind::Get || step.kind == StepKind::Template;
  const int attempts = 1 + step_retries(context, step);
  Duration delay = step_retry_delay(context, step);
  // plan-format.md: a step's `name` may use variables too.
  std::string label = step_label(step);
  if (label.find("{{") != std::string::npos) label = StepVars(context)(label);
  // issue 14: messages show what this host ran, not the template (a name or command whose
  // variable has no value keeps its `{{name}}`: the missing-value error says which).
  {
    StepVars fill(context);
    context.title = step_title(context.task, context.index, step, fill(step.name),
                               step.secret ? std::string()
                                           : shown_command(context.secrets, context.host.name,
                                                           fill(step.command), step.command));
  }
  for (context.attempt = 1;; ++context.attempt) {
    emit(context.reporter,
         StepStart{context.host.name, context.task.name, context.index, label, step.delegate_to});
    // Not `c ? co_await a : co_await b`: g++ 12 miscompiles co_await inside a conditional.
    Attempt attempt;
    if (is_transfer)
      attempt = co_await run_transfer_step(context);
    else
      attempt = co_await run_command_step(context);
    const bool again = attempt.outcome.status != StepStatus::Ok && attempt.outcome.retryable &&
                       context.attempt < attempts && !context.cancel.is_requested();
    if (again) {
      attempt.end.error =
          retry_text(context.title, attempt.end.error, context.attempt, attempts, delay);
    } else if (context.attempt > 1) {
      attempt.end.error += attempt.end.error.empty()
                               ? ""
                               : fmt::format(" (attempt {} of {})", context.attempt, attempts);
      attempt.outcome.error = attempt.end.error;
    }
    // issue 14: one word per outcome: a step the run cancelled is `aborted`, as its host is.
    if (attempt.outcome.cancelled)
      attempt.outcome.status = attempt.end.status = StepStatus::Aborted;
    attempt.end.ignored = !again && attempt.outcome.status != StepStatus::Ok &&
                          attempt.outcome.status != StepStatus::Skipped &&
                          !attempt.outcome.fails_host;
    attempt.end.will_retry = again;
    attempt.end.changed = attempt.outcome.changed && attempt.outcome.status == StepStatus::Ok;
    emit(context.reporter, attempt.end);
    if (!again) co_return attempt.outcome;
    if (!co_await wait_unless_cancelled(context.cancel, delay)) {
      StepOutcome cancelled = attempt.outcome;
      cancelled.cancelled = true;
      cancelled.fails_host = true;
      cancelled.error += ": no retry: " + context.cancel_reason;
      co_return cancelled;
    }
    delay *= 2;
  }
}

}  // namespace deployd::engine
