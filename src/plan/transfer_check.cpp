// SPDX-License-Identifier: MIT
// validate_transfers: a `put` source that is missing, or a `get` that writes one local file from
// several hosts, is a plan error before anything connects (issue 4).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "plan/suggest.hpp"
#include "plan/validate.hpp"
#include "plan/vars.hpp"

namespace deployd::plan {
namespace {

/// `text` for `host` when it uses no run-time variable (registered names, run.id), else nullopt.
std::optional<std::string> static_text(const Plan& plan, const Host* host,
                                       const std::string& text) {
  const std::vector<std::string> names = referenced_vars(text);
  if (std::find(names.begin(), names.end(), "run.id") != names.end()) return std::nullopt;
  Interpolated result = interpolate(text, {&plan, host, nullptr, "run"});
  if (!result.missing.empty()) return std::nullopt;
  return result.text;
}

/// issue 18: "" when every entry of `folder` is a folder or a regular file, else what the
/// first other one is (a recursive put refuses symlinks and special files, as the run would).
std::string unsendable_entry(const std::filesystem::path& folder) {
  namespace fs = std::filesystem;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(folder, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::file_status status = it->symlink_status(ec);
    if (ec || fs::is_directory(status) || fs::is_regular_file(status)) continue;
    const std::string what = fs::is_symlink(status) ? "a symlink" : "a special file";
    return fmt::format("holds {}, {}: a recursive put sends folders and regular files only",
                       quote(it->path().lexically_relative(folder).string()), what);
  }
  return ec ? "cannot be read: " + ec.message() : "";
}

void check_put(const Plan& plan, const TaskDraft& draft, const Step& step,
               const std::filesystem::path& folder, Diagnostics& diags) {
  std::set<std::string> checked;
  for (const std::string& host_name : draft.task.hosts) {
    const Host* host = nullptr;
    for (const Host& h : plan.hosts)
      if (h.name == host_name) host = &h;
    std::optional<std::string> source = static_text(plan, host, step.command);
    if (!source || source->empty() || !checked.insert(*source).second) continue;
    const std::filesystem::path path = folder / *source;  // an absolute source stays as is
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    std::string problem;
    if (!std::filesystem::exists(status))
      problem = "does not exist";
    else if (step.recursive)
      problem = std::filesystem::is_directory(status) ? unsendable_entry(path) : "is not a folder";
    else if (std::filesystem::is_directory(status))
      problem = "is a folder, not a file";
    if (problem.empty()) continue;
    diags.error(
        Where{draft.where.doc, step.json_pointer + "/put"},
        fmt::format("local {} {} {}", step.recursive ? "folder" : "file", quote(*source), problem));
    return;  // one error per step
  }
}

void check_get(const Plan& plan, const TaskDraft& draft, const Step& step, Diagnostics& diags) {
  std::map<std::string, std::string> writer;  // local path -> first host writing it
  for (const std::string& host_name : draft.task.hosts) {
    const Host* host = nullptr;
    for (const Host& h : plan.hosts)
      if (h.name == host_name) host = &h;
    std::optional<std::string> to = static_text(plan, host, step.to);
    if (!to) continue;
    auto [first, is_new] = writer.emplace(*to, host_name);
    if (is_new) continue;
    diags.error(Where{draft.where.doc, step.json_pointer + "/to"},
                fmt::format("hosts {} and {} would both write {}: put \"{{{{host}}}}\" in \"to\"",
                            quote(first->second), quote(host_name), quote(*to)));
    return;
  }
}

}  // namespace

void validate_transfers(const Plan& plan, const std::vector<TaskDraft>& tasks,
                        const std::string& plan_file, bool check_files, Diagnostics& diags) {
  std::filesystem::path folder = std::filesystem::path(plan_file).parent_path();
  if (folder.empty()) folder = ".";
  for (const TaskDraft& draft : tasks) {
    if (draft.task.is_local) continue;
    for (const Step& step : draft.task.steps) {
      // An imported file's sources sit beside it (imports.cpp sets its steps' folder).
      const std::filesystem::path from =
          step.directory.empty() ? folder : std::filesystem::path(step.directory);
      if (step.kind == StepKind::Put && check_files) check_put(plan, draft, step, from, diags);
      if (step.kind == StepKind::Get) check_get(plan, draft, step, diags);
    }
  }
}

}  // namespace deployd::plan
