// SPDX-License-Identifier: MIT
// One step: interpolate, build the remote command, exec, turn output chunks into line events.
#include "engine/step_runner.hpp"

#include <fmt/format.h>

#include <chrono>
#include <optional>

#include "engine/remote_command.hpp"
#include "engine/step_text.hpp"
#include "engine/transfer_step.hpp"
#include "local/local_process.hpp"
#include "report/line_splitter.hpp"

namespace deployd::engine {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A registered value larger than this fails the step rather than growing without bound.
constexpr std::size_t kMaxRegisteredBytes = 16 << 20;

// The step's command with every variable resolved.
CommandSpec resolve(const Step& step, StepVars& fill) {
  CommandSpec spec;
  spec.command = fill(step.command);
  spec.cwd = fill(step.cwd);
  for (const auto& [name, value] : step.env) spec.env[name] = fill(value);
  if (step.sudo_user) spec.sudo_user = fill(*step.sudo_user);
  return spec;
}

// Splits a stream's chunks into lines and reports each as an output event.
class OutputLines {
 public:
  OutputLines(const StepContext& context, OutputStream stream)
      : context_(context), stream_(stream) {}
  void feed(std::string_view chunk) {
    for (report::LineSplitter::Line& line : splitter_.feed_lines(chunk))
      report(std::move(line.text), line.is_partial);
  }
  void flush() {
    if (std::optional<std::string> rest = splitter_.flush()) report(std::move(*rest), false);
  }

 private:
  // A long line comes in pieces flagged partial, so a reader of the events can join them.
  void report(std::string line, bool is_partial) {
    emit(context_.reporter, Output{context_.host.name, context_.task.name, context_.index, stream_,
                                   std::move(line), is_partial});
  }
  const StepContext& context_;
  OutputStream stream_;
  report::LineSplitter splitter_;
};

// `error_loses_session`: an ExecResult error means the SSH session broke (a remote step), or
// only that the process could not start (a local step: the session is untouched).
StepOutcome judge(const StepContext& context, const Step& step, const ExecResult& result,
                  SteadyClock::duration elapsed, bool error_loses_session, StepEnd& end) {
  StepOutcome outcome;
  std::string title = step_title(context.task, context.index, step);
  end.exit_status = result.exit_status;
  end.exit_signal = result.exit_signal;
  if (result.exit_status == 0) return outcome;
  if (result.timed_out) {
    outcome.status = StepStatus::TimedOut;
    outcome.error = fmt::format("{}: timed out after {}", title, duration_text(elapsed));
  } else if (!result.error.empty()) {
    outcome.status = StepStatus::Failed;
    outcome.connection_lost = error_loses_session;
    outcome.error = fmt::format("{}: {}", title, result.error);
  } else if (!result.exit_signal.empty()) {
    outcome.status = StepStatus::Failed;
    outcome.error = fmt::format("{}: killed by signal {} after {}", title, result.exit_signal,
                                duration_text(elapsed));
  } else {
    outcome.status = StepStatus::Failed;
    outcome.error = fmt::format("{}: exited with status {} after {}", title,
                                result.exit_status.value_or(-1), duration_text(elapsed));
  }
  outcome.fails_host = !step.ignore_errors || outcome.connection_lost;
  return outcome;
}

// plan-format.md: a `local` step runs on the controller in the plan file's folder (joined with
// its `cd`). With `sudo`, env is exported inside the script, since sudo resets the environment.
boost::asio::awaitable<ExecResult> run_local_step(const Plan& plan, CommandSpec spec,
                                                  const ExecRequest& request) {
  local::LocalCommand command;
  command.directory = local::working_directory(plan.directory, spec.cwd);
  command.timeout = request.timeout;
  spec.cwd.clear();
  if (spec.sudo_user) {
    command.command = remote_command(spec);
  } else {
    command.command = std::move(spec.command);
    command.env = std::move(spec.env);
  }
  ExecResult result = co_await local::run_local(command, request.on_output);
  co_return result;
}

}  // namespace

std::string StepVars::operator()(const std::string& text) {
  plan::Interpolated result = plan::interpolate(text, vars_);
  missing_.insert(missing_.end(), result.missing.begin(), result.missing.end());
  return std::move(result.text);
}

std::optional<StepOutcome> StepVars::missing_value(const StepContext& context, const Step& step) const {
  if (missing_.empty()) return std::nullopt;
  return StepOutcome{StepStatus::Failed, !step.ignore_errors, false,
                     fmt::format("{}: variable \"{}\" has no value on this host",
                                 step_title(context.task, context.index, step), missing_.front())};
}

void report_skipped_step(Reporter& reporter, const Host& host, const Task& task, int index,
                         const std::string& reason) {
  const Step& step = task.steps[static_cast<std::size_t>(index)];
  emit(reporter, StepEnd{host.name, task.name, index, StepStatus::Skipped, std::nullopt, "", 0,
                         fmt::format("{}: skipped: {}", step_title(task, index, step), reason)});
}

boost::asio::awaitable<StepOutcome> run_step(StepContext context) {
  const Step& step = context.task.steps[static_cast<std::size_t>(context.index)];
  if (step.kind == StepKind::Put || step.kind == StepKind::Get) co_return co_await run_transfer_step(context);
  emit(context.reporter, StepStart{context.host.name, context.task.name, context.index, step_label(step)});
  StepEnd end{context.host.name, context.task.name, context.index, StepStatus::Ok, std::nullopt, "", 0, ""};

  StepVars vars(context);
  CommandSpec spec = resolve(step, vars);
  if (std::optional<StepOutcome> failure = vars.missing_value(context, step)) {
    end.status = failure->status;
    end.error = failure->error;
    emit(context.reporter, end);
    co_return *failure;
  }

  OutputLines out(context, OutputStream::Stdout), err(context, OutputStream::Stderr);
  std::string captured;
  bool capture_overflow = false;
  const bool is_local = step.kind == StepKind::Local;
  ExecRequest request{is_local ? "" : remote_command(spec), {},
                      step.timeout ? step.timeout : context.plan.policy.timeout};
  request.on_output = [&](OutputStream stream, std::string_view chunk) {
    (stream == OutputStream::Stdout ? out : err).feed(chunk);
    if (stream != OutputStream::Stdout || step.register_as.empty()) return;
    if (captured.size() + chunk.size() > kMaxRegisteredBytes) capture_overflow = true;
    if (!capture_overflow) captured.append(chunk);
  };

  SteadyClock::time_point started = SteadyClock::now();
  ExecResult result;
  if (is_local)
    result = co_await run_local_step(context.plan, spec, request);
  else
    result = co_await context.connection.exec(request);
  SteadyClock::duration elapsed = SteadyClock::now() - started;
  out.flush();
  err.flush();

  StepOutcome outcome = judge(context, step, result, elapsed, /*error_loses_session=*/!is_local, end);
  if (outcome.status == StepStatus::Ok && !step.register_as.empty()) {
    if (capture_overflow) {
      outcome = StepOutcome{StepStatus::Failed, true, false,
                            fmt::format("{}: output too large to register (over {} MiB)",
                                        step_title(context.task, context.index, step), kMaxRegisteredBytes >> 20)};
    } else {
      if (!captured.empty() && captured.back() == '\n') captured.pop_back();
      context.registered[step.register_as] = std::move(captured);
    }
  }
  end.status = outcome.status;
  end.error = outcome.error;
  end.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count();
  emit(context.reporter, end);
  co_return outcome;
}

}  // namespace deployd::engine
