// SPDX-License-Identifier: MIT
// summary.json -> PreviousRun (see previous_run.hpp); the writer is run_log.cpp.
#include "report/previous_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <system_error>

#include "report/run_log.hpp"

namespace deployd::report {

namespace fs = std::filesystem;

namespace {

using Json = nlohmann::json;

std::string quoted_path(const fs::path& path) { return Json(path.string()).dump(); }

const Json& member(const Json& object, const char* key) {
  if (!object.is_object()) throw std::runtime_error(fmt::format("\"{}\" is not in an object", key));
  auto found = object.find(key);
  if (found == object.end()) throw std::runtime_error(fmt::format("\"{}\" is missing", key));
  return *found;
}

// A member that must be a string (or null, read as ""); throws a message naming the member.
std::string string_at(const Json& object, const char* key) {
  const Json& value = member(object, key);
  if (value.is_null()) return {};
  if (!value.is_string()) throw std::runtime_error(fmt::format("\"{}\" is not a string", key));
  return value.get<std::string>();
}

std::vector<std::string> strings_at(const Json& object, const char* key) {
  std::vector<std::string> texts;
  const Json& list = member(object, key);
  if (!list.is_array()) throw std::runtime_error(fmt::format("\"{}\" is not a list", key));
  for (const Json& text : list) {
    if (!text.is_string()) throw std::runtime_error(fmt::format("\"{}\" holds a non-string", key));
    texts.push_back(text.get<std::string>());
  }
  return texts;
}

std::optional<std::vector<std::string>> optional_strings_at(const Json& object, const char* key) {
  if (member(object, key).is_null()) return std::nullopt;
  return strings_at(object, key);
}

RunRecord record_from(const Json& rerun) {
  RunRecord record;
  record.plan.path = string_at(rerun, "plan_path");
  const Json& inventories = member(rerun, "inventories");
  if (!inventories.is_array()) throw std::runtime_error("\"inventories\" is not a list");
  for (const Json& inventory : inventories)
    record.inventories.push_back(
        FileDigest{string_at(inventory, "path"), string_at(inventory, "sha256")});
  record.tasks = strings_at(rerun, "tasks");
  record.hosts = optional_strings_at(rerun, "hosts");
  record.limit = optional_strings_at(rerun, "limit");
  record.retry_of = string_at(rerun, "retry_of");
  return record;
}

// plan-format.md, --retry-failed: failed, unreachable, skipped and aborted hosts are run again;
// a host with no end (a run cut short) never finished either.
void add_hosts(const Json& hosts, PreviousRun& run) {
  if (!hosts.is_array()) throw std::runtime_error("\"hosts\" is not a list");
  for (const Json& host : hosts) {
    const std::string name = string_at(host, "host");
    const std::string status = string_at(host, "status");
    const bool ended_badly =
        status.empty() || status == "failed" || status == "unreachable" || status == "aborted" ||
                             status == "skipped";
    if (name == "local")
      run.local_failed = run.local_failed || status == "failed";
    else if (ended_badly)
      run.retry_hosts.push_back(name);
  }
}

}  // namespace

PreviousRunLookup read_summary(const fs::path& summary) {
  std::ifstream in(summary, std::ios::binary);
  if (!in) return {std::nullopt, fmt::format("cannot read run summary {}", quoted_path(summary))};
  std::ostringstream text;
  text << in.rdbuf();
  const Json j = Json::parse(text.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return {std::nullopt,
            fmt::format("run summary {} is corrupt: not a JSON object", quoted_path(summary))};
  if (!j.contains("rerun") || !j.at("rerun").is_object()) {
    return {std::nullopt,
            fmt::format("run summary {} does not record how to rerun the run (written by an "
                        "older deployd)",
                        quoted_path(summary))};
  }
  try {
    PreviousRun run;
    run.summary = summary;
    run.run_id = string_at(j, "run_id");
    run.plan_sha256 = string_at(j, "plan_sha256");
    run.started = string_at(j, "started");
    run.record = record_from(j.at("rerun"));
    run.record.plan.sha256 = run.plan_sha256;
    add_hosts(member(j, "hosts"), run);
    return {std::move(run), {}};
  } catch (const std::exception& error) {
    return {std::nullopt,
            fmt::format("run summary {} is corrupt: {}", quoted_path(summary), error.what())};
  }
}

PreviousRunLookup find_previous_run(const fs::path& log_dir, const std::string& plan_path,
                                    const std::string& run_id) {
  if (!run_id.empty()) {
    const fs::path dir = log_dir / run_id;
    std::error_code error;
    if (!fs::is_directory(dir, error))
      return {std::nullopt, fmt::format("run {} not found in {}", run_id, quoted_path(log_dir))};
    if (!fs::exists(dir / "summary.json", error))
      return {std::nullopt, fmt::format("run {} has no summary (it did not finish): {} is missing",
                                        run_id, quoted_path(dir / "summary.json"))};
    return read_summary(dir / "summary.json");
  }
  // Run ids sort as the runs started to the second (make_run_id); within a second their random
  // suffixes do not, so the summaries' `started` (milliseconds) decides between them.
  std::vector<std::string> ids;
  std::error_code error;
  for (fs::directory_iterator it(log_dir, error), end; !error && it != end; it.increment(error))
    if (is_run_id(it->path().filename().string())) ids.push_back(it->path().filename().string());
  std::sort(ids.rbegin(), ids.rend());
  constexpr std::size_t kSecondPrefix = 16;  // `20261128T134235Z`
  PreviousRunLookup latest;
  std::string latest_id;
  for (const std::string& id : ids) {
    if (latest.run && id.compare(0, kSecondPrefix, latest_id, 0, kSecondPrefix) != 0) break;
    const fs::path summary = log_dir / id / "summary.json";
    std::error_code missing;
    if (!fs::exists(summary, missing)) continue;  // still running, or cut off before its summary
    PreviousRunLookup found = read_summary(summary);
    if (!found.run) {
      if (found.error.find("older deployd") != std::string::npos)
        continue;  // cannot be this plan's
      return found;
    }
    if (found.run->record.plan.path != plan_path) continue;
    if (!latest.run || found.run->started > latest.run->started) {
      latest = std::move(found);
      latest_id = id;
    }
  }
  if (latest.run) return latest;
  return {std::nullopt,
          fmt::format("no finished run of {} in {}", quoted_path(plan_path), quoted_path(log_dir))};
}

}  // namespace deployd::report
