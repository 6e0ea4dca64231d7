// SPDX-License-Identifier: MIT
// --dry-run --show-files and --diff (issue 18): the bytes template and put steps would install,
// and a unified diff against what each host has.
#include "engine/file_diff.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <sstream>

#include "base/line_diff.hpp"
#include "engine/engine.hpp"
#include "engine/folder_diff.hpp"
#include "engine/remote_command.hpp"
#include "engine/step_text.hpp"
#include "engine/transfer_step.hpp"
#include "plan/conditions.hpp"
#include "plan/suggest.hpp"
#include "plan/template_text.hpp"
#include "plan/vars.hpp"

namespace deployd::engine {
namespace {

using plan::VarContext;

// Bigger files are not shown or compared line by line: a diff of them would not be read.
constexpr std::size_t kMaxShownBytes = 4 << 20;

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
    file.is_folder = true;
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
      base::unified_diff(lines_of(before), lines_of(planned), 3, std::size_t{1} << 22);
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

boost::asio::awaitable<RemoteRead> run_read_only(Connection& connection, const std::string& command,
                                                 const std::optional<std::string>& sudo_user,
                                                 std::string input, std::size_t max_out) {
  CommandSpec spec;
  spec.command = command;
  spec.sudo_user = sudo_user;
  RemoteCommand remote = remote_command(spec);  // one `sh -c`: stdin is free for `input`
  RemoteRead read;
  std::string err;
  ExecRequest request{remote.exec,
                      [&](OutputStream stream, std::string_view chunk) {
                        if (stream == OutputStream::Stderr) {
                          if (err.size() < 4096) err.append(chunk);
                          return;
                        }
                        const std::size_t room = max_out - std::min(max_out, read.out.size());
                        read.is_cut = read.is_cut || chunk.size() > room;
                        read.out.append(chunk.substr(0, room));
                      },
                      Duration{60'000}, std::move(input)};
  ExecResult result = co_await connection.exec(request);
  read.status = result.exit_status;
  if (read.status) co_return read;
  if (!err.empty() && err.back() == '\n') err.pop_back();
  read.error = !result.error.empty() ? result.error
               : result.timed_out    ? std::string("timed out after 60s")
               : err.empty()         ? fmt::format("ended by signal {}", result.exit_signal)
                                     : err.substr(0, err.find('\n'));
  co_return read;
}

boost::asio::awaitable<std::optional<std::string>> read_remote_file(
    Connection& connection, const std::string& path, const std::optional<std::string>& sudo_user,
    std::size_t planned_size, std::string& error) {
  const std::string quoted = shell_quote(path);
  // One byte more than the planned file tells a longer file apart without reading all of it.
  RemoteRead read = co_await run_read_only(
      connection,
      fmt::format("if [ -e {0} ] || [ -L {0} ]; then exec cat -- {0}; else exit {1}; fi", quoted,
                  kAbsentStatus),
      sudo_user, "", std::max(planned_size, kMaxShownBytes) + 1);
  if (read.status == kAbsentStatus) co_return std::nullopt;
  if (read.status == 0) co_return std::move(read.out);
  error = read.status ? fmt::format("exited with status {}", *read.status) : read.error;
  co_return std::nullopt;
}

namespace {

// Why the run would not install `step` on the host, as far as can be told before it runs; ""
// when it would. `is_error`: the step's conditions cannot be evaluated at all.
std::string not_run_reason(const Task& task, const Step& step, const VarContext& vars,
                           bool& is_error) {
  if (!step.loop_skip.empty()) return "skipped: " + step.loop_skip;
  if (!step.delegate_to.empty())
    return fmt::format("delegated to {}: not compared", plan::quote(step.delegate_to));
  std::vector<Condition> when = step.when;
  if (task.when) when.insert(when.begin(), *task.when);
  const plan::WhenVerdict verdict = plan::check_when(when, vars, false);
  if (verdict.runs) return "";
  if (!verdict.missing.empty())
    return fmt::format("not compared: when uses {}, known only when the run runs",
                       plan::quote(verdict.missing));
  is_error = !verdict.error.empty();
  return is_error ? "not compared: " + verdict.error : "skipped: " + verdict.reason;
}

// A recursive put's folder against the host's.
boost::asio::awaitable<void> diff_folder_step(DiffRun& run, HostDiff& diff, Connection& connection,
                                              const Step& step, const PlannedFile& file,
                                              const VarContext& vars, const std::string& title) {
  auto opened = ssh::SourceTree::open(file.source, run.sources);
  if (auto* error = std::get_if<std::string>(&opened)) {
    diff.is_failed = true;
    diff.text += fmt::format("  {}: not compared: {}\n", title, *error);
    co_return;
  }
  const auto& tree = std::get<std::shared_ptr<ssh::SourceTree>>(opened);
  FolderPlan folder{tree.get(), file.target, tree->mode & 0777};
  if (step.mode) folder.top_mode = parse_mode(*step.mode).value_or(folder.top_mode);
  if (step.sudo_user) folder.sudo_user = plan::interpolate(*step.sudo_user, vars).text;
  folder.owner = plan::interpolate(step.owner, vars).text;
  folder.group = plan::interpolate(step.group, vars).text;
  FolderDiff found = co_await diff_folder(connection, diff.host->name, folder);
  if (!found.error.empty()) {
    diff.is_failed = true;
    diff.text +=
        fmt::format("  {}: cannot read {}: {}\n", title, plan::quote(file.target), found.error);
    co_return;
  }
  diff.compared += found.compared;
  diff.would_change += found.would_change;
  diff.text += found.would_change == 0
                   ? fmt::format("  {}: {}/ unchanged\n", title, file.target)
                   : fmt::format("  {}: {}/ would change\n{}", title, file.target, found.text);
}

// A template's or a put's file against the host's.
boost::asio::awaitable<void> diff_file_step(HostDiff& diff, Connection& connection,
                                            const Step& step, const PlannedFile& file,
                                            const VarContext& vars, const std::string& title) {
  std::string error;
  std::optional<std::string> sudo_user;
  if (step.sudo_user) sudo_user = plan::interpolate(*step.sudo_user, vars).text;
  std::optional<std::string> current =
      co_await read_remote_file(connection, file.target, sudo_user, file.bytes->size(), error);
  if (!error.empty()) {
    diff.is_failed = true;
    diff.text += fmt::format("  {}: cannot read {}: {}\n", title, plan::quote(file.target), error);
    co_return;
  }
  ++diff.compared;
  std::string text = file_diff(diff.host->name, file.target, current, *file.bytes);
  if (text.empty()) {
    diff.text += fmt::format("  {}: {} unchanged\n", title, file.target);
    co_return;
  }
  ++diff.would_change;
  diff.text += fmt::format("  {}: {} would change\n{}", title, file.target, text);
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
      std::string title = step_title(*task, static_cast<int>(i), step);
      if (task->is_handler) title += " (a handler: runs only if notified)";
      const VarContext vars{&run.plan, &host, nullptr, run.run_id, "", &step.loop_vars};
      bool is_error = false;
      if (std::string reason = not_run_reason(*task, step, vars, is_error); !reason.empty()) {
        diff.text += fmt::format("  {}: {}\n", title, reason);
        diff.is_failed = diff.is_failed || is_error;
        continue;
      }
      PlannedFile file = planned_file(run.plan, host, step, run.run_id);
      if (file.is_folder)
        co_await diff_folder_step(run, diff, connection, step, file, vars, title);
      else if (file.bytes)
        co_await diff_file_step(diff, connection, step, file, vars, title);
      else {
        diff.text += fmt::format("  {}: not compared: {}\n", title, file.note);
        diff.is_failed = diff.is_failed || file.is_error;
      }
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
