// SPDX-License-Identifier: MIT
// put and get steps (issue 4): paths interpolated like commands, local paths under the plan's
// folder.
#include "engine/transfer_step.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <filesystem>
#include <optional>

#include "base/duration_text.hpp"
#include "engine/step_runner.hpp"
#include "engine/step_text.hpp"
#include "ssh/alarm.hpp"

namespace deployd::engine {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct Paths {
  std::string from;  ///< put: local source; get: remote source
  std::string to;
  std::optional<std::string> sudo_user;  ///< issue 18: who writes or reads the remote file
  std::string owner;
  std::string group;
  std::optional<std::string> content;  ///< template: the file rendered for this host
};

Paths resolve_paths(const Step& step, StepVars& fill) {
  const bool is_put = step.kind != StepKind::Get;
  Paths paths{step.kind == StepKind::Template
                  ? step.template_file
                  : fill(step.command, is_put ? VarUse::LocalPath : VarUse::Text),
              fill(step.to, is_put ? VarUse::Text : VarUse::LocalPath)};
  std::string& remote = is_put ? paths.to : paths.from;
  remote = remote_path(fill(step.cwd), remote);
  if (step.kind == StepKind::Template) paths.content = fill.render(*step.text_template, paths.from);
  if (step.sudo_user) paths.sudo_user = fill(*step.sudo_user);
  paths.owner = fill(step.owner);
  paths.group = fill(step.group);
  return paths;
}

StepOutcome failed(const StepContext& context, const Step& step, const std::string& cause,
                   bool connection_lost) {
  StepOutcome outcome{StepStatus::Failed, !step.ignore_errors || connection_lost, connection_lost,
                      fmt::format("{}: {}", context.title, cause)};
  outcome.cancelled = context.cancel.is_requested();
  if (outcome.cancelled) outcome.error += ": cancelled: " + context.cancel_reason;
  outcome.retryable = !connection_lost;
  return outcome;
}

// issue 4: bytes and rate of a long transfer, reported about once a second (none for a
// transfer that ends within its first second).
TransferProgress progress_reporter(const StepContext& context) {
  const SteadyClock::time_point started = SteadyClock::now();
  return [&context, started, last = started](std::uint64_t done, std::uint64_t total) mutable {
    const SteadyClock::time_point now = SteadyClock::now();
    if (now - last < std::chrono::seconds(1)) return;
    last = now;
    const double seconds = std::chrono::duration<double>(now - started).count();
    emit(context.reporter, Progress{context.host.name, context.task.name, context.index, done, total,
                                    static_cast<std::uint64_t>(static_cast<double>(done) / seconds)});
  };
}

boost::asio::awaitable<TransferResult> put_or_get(const StepContext& context, const Step& step,
                                                  const Paths& paths) {
  if (step.kind != StepKind::Get) {
    const bool is_template = step.kind == StepKind::Template;
    PutRequest request{is_template ? paths.from : local_path(context.plan, step, paths.from),
                       paths.to, std::nullopt, context.run_id, progress_reporter(context)};
    if (step.mode) request.mode = parse_mode(*step.mode);
    if (is_template && !step.mode) request.mode = file_mode(paths.from);
    request.content = paths.content;
    request.sudo_user = paths.sudo_user;
    request.owner = paths.owner;
    request.group = paths.group;
    request.recursive = step.recursive;
    co_return co_await context.connection.put(request);
  }
  GetRequest request{paths.from, local_path(context.plan, step, paths.to), context.run_id,
                     progress_reporter(context)};
  if (step.mode) request.mode = parse_mode(*step.mode);
  request.max_size = step.max_size;
  request.sudo_user = paths.sudo_user;
  request.recursive = step.recursive;
  co_return co_await context.connection.get(request);
}

// A cancel or the step's timeout stops a transfer the only way SFTP allows: the connection is
// dropped (the temporary file stays on the host; the target is never half-written).
boost::asio::awaitable<TransferResult> transfer(const StepContext& context, const Step& step,
                                                const Paths& paths) {
  base::Cancel::Scope on_cancel(context.cancel,
                                [&connection = context.connection] { connection.cancel(); });
  const std::optional<Duration> timeout = step_timeout(context, step);
  bool is_timed_out = false;
  ssh::Alarm deadline(co_await boost::asio::this_coro::executor);
  if (timeout) {
    deadline.arm(ssh::Alarm::Clock::now() + *timeout, [&] {
      is_timed_out = true;
      context.connection.cancel();
    });
  }
  TransferResult result = co_await put_or_get(context, step, paths);
  deadline.disarm();
  if (is_timed_out) {
    result.error =
        fmt::format("timed out after {}; the connection was dropped to stop the transfer",
                    base::duration_text(*timeout));
    result.connection_lost = true;
  }
  co_return result;
}

// A `get` claims its local path before anything is written: a second host of the task gets the
// name of the first, never the chance to overwrite its file (`{{run.id}}` and registered values
// escape the load-time check).
std::string claim_local_path(const StepContext& context, const Step& step, const Paths& paths) {
  if (step.kind != StepKind::Get) return {};
  return context.get_claims.claim(context.task.name, local_path(context.plan, step, paths.to),
                                  context.host.name);
}

}  // namespace

std::string remote_path(const std::string& cwd, std::string path) {
  // plan-format.md: inside a `cd` block a relative remote path is relative to that folder.
  if (!cwd.empty() && !path.empty() && path.front() != '/' && !path.starts_with("~"))
    path = cwd + "/" + path;
  // SFTP expands no `~`; its relative paths start at the login folder, the user's home.
  if (path == "~" || path == "~/")
    path = ".";
  else if (path.starts_with("~/"))
    path.erase(0, 2);
  return path;
}

unsigned file_mode(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_mode & 0777 : 0644;
}

std::optional<unsigned> parse_mode(const std::string& text) {
  if (text.empty() || text.size() > 4) return std::nullopt;
  unsigned mode = 0;
  for (char c : text) {
    if (c < '0' || c > '7') return std::nullopt;
    mode = mode * 8 + static_cast<unsigned>(c - '0');
  }
  return mode;
}

std::string local_path(const Plan& plan, const Step& step, const std::string& path) {
  if (path.empty() || path.front() == '/') return path;
  const std::string& folder = step.directory.empty() ? plan.directory : step.directory;
  return (std::filesystem::path(folder.empty() ? "." : folder) / path).string();
}

boost::asio::awaitable<Attempt> run_transfer_step(StepContext context) {
  const Step& step = context.task.steps[static_cast<std::size_t>(context.index)];
  StepEnd end{
      context.host.name, context.task.name, context.index, StepStatus::Ok, std::nullopt, "", 0, ""};
  StepVars vars(context);
  const Paths paths = resolve_paths(step, vars);
  if (step.hides_command()) {  // a hidden step's paths are its "command": not even in its own errors
    context.secrets.add_exact(paths.from, context.host.name);
    context.secrets.add_exact(paths.to, context.host.name);
  }
  StepOutcome outcome;
  const SteadyClock::time_point started = SteadyClock::now();
  if (std::optional<StepOutcome> failure = vars.missing_value(context, step)) {
    outcome = *failure;
  } else if (std::string other = claim_local_path(context, step, paths); !other.empty()) {
    outcome = failed(
        context, step,
        fmt::format("host {} already gets a file into \"{}\" in this task: put \"{{{{host}}}}\" "
                    "in \"to\" so that each host writes its own",
                    other, local_path(context.plan, step, paths.to)),
        false);
    outcome.retryable = false;
  } else {
    TransferResult result;
    if (context.cancel.is_requested())
      result = TransferResult{0, false, "not started", false};
    else
      result = co_await transfer(context, step, paths);
    if (!result.error.empty()) {
      outcome = failed(context, step, result.error, result.connection_lost);
    } else {
      end.transfer = TransferStats{result.bytes, result.unchanged};
      outcome.changed = !result.unchanged;  // a put of equal bytes writes nothing
    }
  }
  end.status = outcome.status;
  end.error = outcome.error;
  end.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started).count();
  co_return Attempt{std::move(outcome), std::move(end)};
}

}  // namespace deployd::engine
