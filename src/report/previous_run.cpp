// SPDX-License-Identifier: MIT
// summary.json -> PreviousRun (see previous_run.hpp); the writer is run_log.cpp.
#include "report/previous_run.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <system_error>
#include <variant>

#include "report/escape.hpp"
#include "report/path_text.hpp"
#include "report/private_folder.hpp"
#include "report/run_log.hpp"

namespace deployd::report {

namespace fs = std::filesystem;

namespace {

using Json = nlohmann::json;

const Json& member(const Json& object, const char* key) {
  if (!object.is_object()) throw std::runtime_error(fmt::format("\"{}\" is not in an object", key));
  auto found = object.find(key);
  if (found == object.end()) throw std::runtime_error(fmt::format("\"{}\" is missing", key));
  return *found;
}

// A member that must be a string (or null, read as ""); throws a message naming the member.
// The writer escaped it (escape_json): the bytes come back exactly (issue 16).
std::string string_at(const Json& object, const char* key) {
  const Json& value = member(object, key);
  if (value.is_null()) return {};
  if (!value.is_string()) throw std::runtime_error(fmt::format("\"{}\" is not a string", key));
  return unescape_bytes(value.get<std::string>());
}

std::vector<std::string> strings_at(const Json& object, const char* key) {
  std::vector<std::string> texts;
  const Json& list = member(object, key);
  if (!list.is_array()) throw std::runtime_error(fmt::format("\"{}\" is not a list", key));
  for (const Json& text : list) {
    if (!text.is_string()) throw std::runtime_error(fmt::format("\"{}\" holds a non-string", key));
    texts.push_back(unescape_bytes(text.get<std::string>()));
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
  // Runs recorded before --only and ad-hoc commands have neither "only" nor "ad_hoc".
  if (rerun.contains("only")) record.only = strings_at(rerun, "only");
  if (const auto found = rerun.find("ad_hoc"); found != rerun.end() && !found->is_null()) {
    const Json& sudo = member(*found, "sudo");
    if (!sudo.is_boolean()) throw std::runtime_error("\"sudo\" is not true or false");
    record.ad_hoc =
        AdHocRecord{string_at(*found, "command"), sudo.get<bool>(), string_at(*found, "timeout")};
  }
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

// The summary's text, read only from a run folder and a file that are this user's alone (issue
// 16: another user's forged summary.json must not choose what --retry-failed runs where).
std::variant<std::string, PreviousRunLookup> read_private(const fs::path& summary) {
  const fs::path folder = summary.parent_path().empty() ? fs::path(".") : summary.parent_path();
  const int dir = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  std::string unsafe = dir < 0 ? std::string() : unsafe_folder_reason(dir, folder);
  const int fd = dir < 0 ? -1 : ::openat(dir, summary.filename().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (dir >= 0) ::close(dir);
  struct stat st {};
  if (fd >= 0 && unsafe.empty() && ::fstat(fd, &st) == 0) unsafe = unsafe_file_reason(st, summary);
  if (fd < 0 || !unsafe.empty()) {
    if (fd >= 0) ::close(fd);
    if (unsafe.empty()) return PreviousRunLookup{std::nullopt, fmt::format("cannot read run summary {}", quoted_path(summary))};
    return PreviousRunLookup{std::nullopt, fmt::format("run summary {} is not used: {}", quoted_path(summary), unsafe)};
  }
  std::string text;
  char buffer[65536];
  for (ssize_t n; (n = ::read(fd, buffer, sizeof buffer)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return PreviousRunLookup{std::nullopt, fmt::format("cannot read run summary {}", quoted_path(summary))};
    }
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

}  // namespace

PreviousRunLookup read_summary(const fs::path& summary) {
  auto read = read_private(summary);
  if (auto* failed = std::get_if<PreviousRunLookup>(&read)) return std::move(*failed);
  const Json j = Json::parse(std::get<std::string>(read), nullptr, false);
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

PreviousRunLookup read_unfinished(const fs::path& run_dir) {
  const fs::path events = run_dir / "events.jsonl";
  std::ifstream in(events, std::ios::binary);
  if (!in) return {std::nullopt, fmt::format("cannot read run events {}", quoted_path(events)), {}};
  PreviousRun run;
  run.run_id = run_dir.filename().string();
  run.is_unfinished = true;
  run.summary = events;
  std::vector<std::string> hosts;  // in the order the events first name them
  std::map<std::string, std::string> ends;
  std::string line;
  bool has_start = false;
  while (std::getline(in, line)) {
    const Json j = Json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) continue;  // a line cut short by the crash
    const std::string event = j.value("event", "");
    if (event == "run_start") {
      has_start = true;
      if (j.contains("plan") && j["plan"].is_string()) {
        std::error_code error;
        const fs::path plan = fs::absolute(j["plan"].get<std::string>(), error);
        run.record.plan.path = error ? "" : fs::weakly_canonical(plan, error).string();
      }
      if (j.contains("plan_sha256") && j["plan_sha256"].is_string())
        run.plan_sha256 = run.record.plan.sha256 = j["plan_sha256"].get<std::string>();
      if (j.contains("tasks") && j["tasks"].is_array())
        for (const Json& task : j["tasks"])
          if (task.is_string()) run.record.tasks.push_back(task.get<std::string>());
      if (j.contains("time") && j["time"].is_string()) run.started = j["time"].get<std::string>();
      continue;
    }
    if (!j.contains("host") || !j["host"].is_string()) continue;
    const std::string host = j["host"].get<std::string>();
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) hosts.push_back(host);
    if (event == "host_end" && j.contains("status") && j["status"].is_string())
      ends[host] = j["status"].get<std::string>();
  }
  if (!has_start)
    return {std::nullopt, fmt::format("run events {} have no run_start", quoted_path(events)), {}};
  for (const std::string& host : hosts) {
    const auto end = ends.find(host);
    const std::string status = end == ends.end() ? "" : end->second;
    if (host == "local")
      run.local_failed = run.local_failed || status == "failed" || status.empty();
    else if (status != "ok")
      run.retry_hosts.push_back(host);
  }
  return {std::move(run), {}, {}};
}

PreviousRunLookup find_previous_run(const fs::path& log_dir, const std::string& plan_path,
                                    const std::string& run_id) {
  if (!run_id.empty()) {
    const fs::path dir = log_dir / run_id;
    std::error_code error;
    if (!fs::is_directory(dir, error))
      return {std::nullopt, fmt::format("run {} not found in {}", run_id, quoted_path(log_dir))};
    if (!fs::exists(dir / "summary.json", error)) return read_unfinished(dir);
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
  std::vector<std::string> warnings;
  for (const std::string& id : ids) {
    if (latest.run && id.compare(0, kSecondPrefix, latest_id, 0, kSecondPrefix) != 0) break;
    const fs::path summary = log_dir / id / "summary.json";
    std::error_code missing;
    PreviousRunLookup found;
    if (!fs::exists(summary, missing)) {
      // Still running, or cut off before its summary (killed, crashed): this plan's, if its
      // events say so. A later run of this plan that never finished is what the user retries.
      found = read_unfinished(log_dir / id);
      if (!found.run || found.run->record.plan.path != plan_path) continue;
    } else {
      found = read_summary(summary);
    }
    if (!found.run) {
      if (found.error.find("older deployd") != std::string::npos) continue;  // not this plan's
      // One another user could have written (issue 16) is not read at all, so its plan is not
      // known: the user must see why and fix the folder, not have an older run retried.
      if (found.error.find(" is not used: ") != std::string::npos) return found;
      // A summary that cannot be read blocks only a retry of its own plan, as its events tell;
      // another plan's, or one whose events name no plan, is skipped, and said.
      const PreviousRunLookup events = read_unfinished(log_dir / id);
      if (events.run && events.run->record.plan.path == plan_path) return found;
      warnings.push_back(found.error + (events.run ? ": another plan's run: skipped" : ": skipped"));
      continue;
    }
    if (found.run->record.plan.path != plan_path) continue;
    if (!latest.run || found.run->started > latest.run->started) {
      latest = std::move(found);
      latest_id = id;
    }
  }
  latest.warnings = std::move(warnings);
  if (latest.run) return latest;
  latest.error = fmt::format("no finished run of {} in {}", quoted_path(plan_path), quoted_path(log_dir));
  return latest;
}

}  // namespace deployd::report
