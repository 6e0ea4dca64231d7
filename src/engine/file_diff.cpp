// SPDX-License-Identifier: MIT
// --dry-run --show-files and --diff (issue 18): the bytes template and put steps would install,
// and a unified diff against what each host has.
#include "engine/file_diff.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "engine/engine.hpp"
#include "engine/remote_command.hpp"
#include "engine/step_text.hpp"
#include "engine/transfer_step.hpp"
#include "plan/suggest.hpp"
#include "plan/template_text.hpp"
#include "plan/vars.hpp"
#include "report/line_diff.hpp"

namespace deployd::engine {
namespace {

using plan::VarContext;

// Bigger files are not shown or compared line by line: a diff of them would not be read.
constexpr std::size_t kMaxShownBytes = 4 << 20;
// The exit status of the read command when the remote file does not exist.
constexpr int kAbsent = 44;

std::vector<std::string> lines_of(const std::string& bytes) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (start < bytes.size()) {
    const std::size_t end = std::min(bytes.find('\n', start), bytes.size());
    lines.push_back(bytes.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

bool is_text(const std::string& bytes) { return bytes.find('\0') == std::string::npos; }

std::optional<std::string> read_local(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = fmt::format("cannot read {}", plan::quote(path));
    return std::nullopt;
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

// The names of a string that have no value before the run: registered ones, most likely.
std::string unknown_before_run(const plan::Interpolated& result) {
  if (result.missing.empty()) return result.error;
  return fmt::format("uses {}, known only when the run runs", plan::quote(result.missing.front()));
}

}  // namespace

PlannedFile planned_file(const Plan& plan, const Host& host, const Step& step,
                         const std::string& run_id) {
  plan::VarContext vars{&plan, &host, nullptr, run_id, "", &step.loop_vars};
  PlannedFile file;
  plan::Interpolated to = plan::interpolate(step.to, vars);
  file.target = remote_path(plan::interpolate(step.cwd, vars).text, to.text);
  if (step.hides_command()) {
    file.note = fmt::format("content hidden: the step is {}", step.secret ? "secret" : "no_log");
    return file;
  }
  if (!to.missing.empty() || !to.error.empty()) {
    file.note = "\"to\" " + unknown_before_run(to);
    file.is_error = to.missing.empty();
    return file;
  }
  if (step.kind == StepKind::Template) {
    file.source = step.template_file;
    plan::VarScope scope(vars);
    plan::RenderedText rendered = step.text_template->render(scope);
    if (rendered.is_ok)
      file.bytes = std::move(rendered.text);
    else if (!rendered.error.missing.empty())
      file.note = fmt::format("{}:{}:{}: uses {}, known only when the run runs", file.source,
                              rendered.error.line, rendered.error.column,
                              plan::quote(rendered.error.missing));
    else
      file.note = fmt::format("{}:{}", file.source, rendered.error.to_string());
    file.is_error = !file.bytes && rendered.error.missing.empty();
    return file;
  }
  plan::Interpolated source = plan::interpolate(step.command, vars);
  file.source = local_path(plan, step, source.text);
  if (!source.missing.empty() || !source.error.empty()) {
    file.note = "the source " + unknown_before_run(source);
    file.is_error = source.missing.empty();
  } else if (step.recursive) {
    file.note = "a folder: not shown";
  } else {
    file.bytes = read_local(file.source, file.note);
    file.is_error = !file.bytes;
  }
  return file;
}

std::string content_lines(const std::string& bytes) {
  if (bytes.empty()) return "    (empty file)\n";
  if (!is_text(bytes) || bytes.size() > kMaxShownBytes)
    return fmt::format("    ({} bytes, {})\n", bytes.size(),
                       is_text(bytes) ? "not shown" : "not text");
  std::string out;
  for (const std::string& line : lines_of(bytes)) out += "    | " + line + "\n";
  if (bytes.back() != '\n') out += "    \\ no newline at end of file\n";
  return out;
}

std::string file_diff(const std::string& host, const std::string& path,
                      const std::optional<std::string>& current, const std::string& planned) {
  if (current && *current == planned) return "";
  std::string out = fmt::format("--- {}:{}{}\n+++ {}:{} (planned)\n", host, path,
                                current ? "" : " (absent)", host, path);
  const std::string before = current.value_or("");
  if (!is_text(before) || !is_text(planned) || before.size() > kMaxShownBytes ||
      planned.size() > kMaxShownBytes)
    return out + fmt::format("    ({} bytes now, {} bytes planned: not compared line by line)\n",
                             before.size(), planned.size());
  std::optional<std::vector<std::string>> hunks =
      report::unified_diff(lines_of(before), lines_of(planned), 3, std::size_t{1} << 22);
  if (!hunks)
    return out + fmt::format("    ({} lines now, {} lines planned: too long to compare)\n",
                             lines_of(before).size(), lines_of(planned).size());
  for (const std::string& line : *hunks) out += line + "\n";
  // Lines do not show a missing final newline: say it.
  if (!before.empty() && !planned.empty() && before.ends_with('\n') != planned.ends_with('\n'))
    out += fmt::format("    (the {} file has no newline at its end)\n",
                       before.ends_with('\n') ? "planned" : "current");
  return out;
}

namespace {

// Reads `path` on the host: its bytes, nullopt when it does not exist, or an error.
boost::asio::awaitable<std::optional<std::string>> read_remote(Connection& connection,
                                                               const Step& step,
                                                               const PlannedFile& file,
                                                               const VarContext& vars,
                                                               std::string& error) {
  CommandSpec spec;
  const std::string path = shell_quote(file.target);
  spec.command = fmt::format("if [ -e {0} ] || [ -L {0} ]; then exec cat -- {0}; else exit {1}; fi",
                             path, kAbsent);
  if (step.sudo_user) spec.sudo_user = plan::interpolate(*step.sudo_user, vars).text;
  RemoteCommand command = remote_command(spec);
  std::string out;
  std::string err;
  ExecRequest request{command.exec,
                      [&](OutputStream stream, std::string_view chunk) {
                        std::string& into = stream == OutputStream::Stdout ? out : err;
                        if (into.size() <= kMaxShownBytes) into.append(chunk);
                      },
                      Duration{60'000}, command.script};
  ExecResult result = co_await connection.exec(request);
  if (result.exit_status == kAbsent) co_return std::nullopt;
  if (result.exit_status == 0) co_return out;
  if (!err.empty() && err.back() == '\n') err.pop_back();
  error = !result.error.empty() ? result.error
          : result.timed_out    ? std::string("timed out after 60s")
          : err.empty() ? fmt::format("exited with status {}", result.exit_status.value_or(-1))
                        : err.substr(0, err.find('\n'));
  co_return std::nullopt;
}

// The diff of one host: every template and put step of its tasks, in order.
boost::asio::awaitable<void> diff_host(DiffRun& run, HostDiff& diff, Transport& transport) {
  const Host& host = *diff.host;
  ConnectResult connected = co_await transport.connect(host);
  if (!connected.connection) {
    diff.is_failed = true;
    diff.text = fmt::format("  unreachable: {}\n", connected.error);
    co_return;
  }
  Connection& connection = *connected.connection;
  for (const Task* task : run.tasks) {
    const bool runs_here = task->run_once ? !task->hosts.empty() && task->hosts.front() == host.name
                                          : std::find(task->hosts.begin(), task->hosts.end(),
                                                      host.name) != task->hosts.end();
    if (task->is_local || !runs_here) continue;
    std::optional<Task> own;  // a list in host or group vars gives each host its own items
    if (task->has_host_items()) own = task->on_host(host.name);
    if (own) task = &*own;
    for (std::size_t i = 0; i < task->steps.size(); ++i) {
      const Step& step = task->steps[i];
      if (step.kind != StepKind::Template && step.kind != StepKind::Put) continue;
      if (!step.loop_skip.empty()) continue;  // a loop copy this host has no item for
      const std::string title = step_title(*task, static_cast<int>(i), step);
      PlannedFile file = planned_file(run.plan, host, step, run.run_id);
      if (!file.bytes) {
        diff.text += fmt::format("  {}: not compared: {}\n", title, file.note);
        diff.is_failed = diff.is_failed || file.is_error;
        continue;
      }
      std::string error;
      const VarContext vars{&run.plan, &host};
      std::optional<std::string> current =
          co_await read_remote(connection, step, file, vars, error);
      if (!error.empty()) {
        diff.is_failed = true;
        diff.text +=
            fmt::format("  {}: cannot read {}: {}\n", title, plan::quote(file.target), error);
        continue;
      }
      ++diff.compared;
      std::string text = file_diff(host.name, file.target, current, *file.bytes);
      if (text.empty()) {
        diff.text += fmt::format("  {}: {} unchanged\n", title, file.target);
        continue;
      }
      ++diff.would_change;
      diff.text += fmt::format("  {}: {} would change\n{}", title, file.target, text);
    }
  }
  co_await connection.close();
}

}  // namespace

boost::asio::awaitable<void> diff_worker(DiffRun& run, Transport& transport) {
  while (run.next < run.hosts.size()) {
    HostDiff& diff = run.hosts[run.next++];
    co_await diff_host(run, diff, transport);
  }
}

}  // namespace deployd::engine
