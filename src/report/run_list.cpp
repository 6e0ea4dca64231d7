// SPDX-License-Identifier: MIT
// The list of recorded runs (see run_list.hpp).
#include "report/run_list.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <tuple>

#include "base/duration_text.hpp"
#include "report/escape.hpp"
#include "report/json_fields.hpp"
#include "report/run_context.hpp"
#include "report/run_log.hpp"

namespace deployd::report {

namespace fs = std::filesystem;

namespace {

using Json = nlohmann::json;

// summary.json of a finished run; false when it is not there.
bool read_summary_file(const fs::path& file, RunListEntry& entry, std::string& error) {
  std::ifstream in(file);
  if (!in) return false;
  const Json j = Json::parse(in, nullptr, false);
  if (!j.is_object()) {
    error = "\"" + escape_terminal(file.string()) + "\" is not a run summary";
    return true;
  }
  entry.started = string_or_empty(j, "started");
  entry.status = string_or_empty(j, "status");
  if (auto it = j.find("exit_code"); it != j.end() && it->is_number_integer()) entry.exit_code = it->get<int>();
  if (auto it = j.find("duration_ms"); it != j.end() && it->is_number_integer())
    entry.duration_ms = it->get<std::int64_t>();
  if (auto it = j.find("counts"); it != j.end() && it->is_object()) {
    entry.counts.ok = int_or(*it, "ok", 0);
    entry.counts.failed = int_or(*it, "failed", 0);
    entry.counts.unreachable = int_or(*it, "unreachable", 0);
    entry.counts.skipped = int_or(*it, "skipped", 0);
    entry.counts.aborted = int_or(*it, "aborted", 0);
  }
  if (auto it = j.find("rerun"); it != j.end() && it->is_object()) entry.plan_path = string_or_empty(*it, "plan_path");
  return true;
}

// A run without summary.json: its first event, run_start, says when and which plan.
bool read_run_start(const fs::path& file, RunListEntry& entry, std::string& plan, std::string& error) {
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line)) {
    error = "\"" + escape_terminal(file.string()) + "\" has no run_start";
    return false;
  }
  const Json j = Json::parse(line, nullptr, false);
  if (!j.is_object() || string_or_empty(j, "event") != "run_start") {
    error = "\"" + escape_terminal(file.string()) + "\" does not start with run_start";
    return false;
  }
  entry.started = string_or_empty(j, "time");
  entry.status = "unfinished";
  plan = string_or_empty(j, "plan");
  return true;
}

std::string canonical_text(const fs::path& path) {
  std::error_code error;
  fs::path result = fs::weakly_canonical(path, error);
  return error ? path.lexically_normal().string() : result.string();
}

std::string shell_word(std::string_view word) {
  const bool is_plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("%+,-./:=@_*").find(c) != std::string_view::npos;
  });
  if (is_plain) return std::string(word);
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

std::string hosts_text(const StatusCounts& counts) {
  std::string text = std::to_string(counts.ok) + " ok";
  for (auto [n, name] : {std::pair{counts.failed, "failed"}, std::pair{counts.unreachable, "unreachable"},
                         std::pair{counts.skipped, "skipped"}, std::pair{counts.aborted, "aborted"}})
    if (n > 0) text += ", " + std::to_string(n) + " " + name;
  return text;
}

std::string result_text(const RunListEntry& run) {
  if (!run.exit_code || *run.exit_code == 0) return run.status;
  return run.status + " (exit " + std::to_string(*run.exit_code) + ")";
}

// "2026-12-07T04:13:15.492Z" -> "2026-12-07 04:13:15"
std::string start_text(const std::string& started) {
  if (started.size() < 19) return started;
  std::string text = started.substr(0, 19);
  text[10] = ' ';
  return text;
}

}  // namespace

std::vector<RunListEntry> list_runs(const fs::path& log_dir, const std::string& plan,
                                    std::vector<std::string>& warnings) {
  std::vector<RunListEntry> runs;
  std::error_code error;
  if (!fs::is_directory(log_dir, error)) return runs;
  std::vector<std::string> ids;
  for (const fs::directory_entry& entry : fs::directory_iterator(log_dir, error)) {
    const std::string name = entry.path().filename().string();
    if (is_run_id(name) && entry.is_directory(error)) ids.push_back(name);
  }
  for (const std::string& id : ids) {
    const fs::path dir = log_dir / id;
    RunListEntry run;
    run.run_id = id;
    std::string problem;
    auto [context, context_error] = read_run_context(dir);
    run.command_line = context.command_line;
    if (!read_summary_file(dir / "summary.json", run, problem)) {
      std::string recorded_plan;
      if (read_run_start(dir / "events.jsonl", run, recorded_plan, problem) && !recorded_plan.empty()) {
        const fs::path path(recorded_plan);
        run.plan_path = canonical_text(path.is_absolute() || context.cwd.empty() ? path : fs::path(context.cwd) / path);
      }
    }
    if (!problem.empty()) {
      warnings.push_back("run " + id + " left out: " + problem);
      continue;
    }
    if (!plan.empty() && canonical_text(run.plan_path) != plan) continue;
    runs.push_back(std::move(run));
  }
  // Run ids sort as the runs started only to the second (then a random suffix): the recorded
  // start (milliseconds) orders runs of the same second.
  std::sort(runs.begin(), runs.end(), [](const RunListEntry& a, const RunListEntry& b) {
    return std::tie(a.started, a.run_id) < std::tie(b.started, b.run_id);
  });
  return runs;
}

std::string render_run_list(const std::vector<RunListEntry>& runs) {
  std::vector<std::array<std::string, 6>> rows;  // the last column, the command, is not padded
  std::array<std::size_t, 5> widths{};
  for (const RunListEntry& run : runs) {
    std::string command = "deployd";
    for (std::size_t i = 1; i < run.command_line.size(); ++i) command += " " + shell_word(run.command_line[i]);
    if (run.command_line.empty()) command += " " + shell_word(run.plan_path);
    const bool is_over = run.status != "unfinished";
    std::array<std::string, 6> row{
        run.run_id,
        start_text(run.started),
        is_over ? base::elapsed_text(std::chrono::milliseconds(run.duration_ms)) : "-",
        result_text(run),
        is_over ? hosts_text(run.counts) : "-",
        command};
    for (std::string& cell : row) cell = escape_terminal(cell);
    for (std::size_t i = 0; i < widths.size(); ++i) widths[i] = std::max(widths[i], display_width(row[i]));
    rows.push_back(std::move(row));
  }
  std::string text;
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < widths.size(); ++i)
      text += row[i] + std::string(widths[i] - display_width(row[i]) + 2, ' ');
    text += row[5] + "\n";
  }
  return text;
}

}  // namespace deployd::report
