// SPDX-License-Identifier: MIT
// The run log folder, its events.jsonl and its atomically written summary.json.
#include "report/run_log.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <random>
#include <variant>

#include "base/errno_text.hpp"
#include "base/write_all.hpp"
#include "report/escape.hpp"
#include "report/private_folder.hpp"
#include "report/time_text.hpp"

namespace deployd::report {

namespace fs = std::filesystem;

namespace {

using OrderedJson = nlohmann::ordered_json;

// Messages are lower-case like the rest of deployd's: they follow a `what: ` prefix.
std::string lower_first(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

std::string json_quoted(std::string_view text) { return OrderedJson(escape_json(text)).dump(); }

// mkdir -p with 0700 for every folder it creates; folders already there are left as they are.
std::string create_parents(const fs::path& dir) {
  fs::path partial;
  for (const fs::path& part : dir) {
    partial /= part;
    if (::mkdir(partial.c_str(), 0700) == 0) continue;
    const int error = errno;
    struct stat st {};
    if (::stat(partial.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) continue;  // there already
    return fmt::format("create run log folder {}: {}", json_quoted(partial.string()),
                       error == EEXIST ? "not a folder" : base::errno_text(error));
  }
  return {};
}

bool is_file_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string_view::npos &&
         name.find('\0') == std::string_view::npos;
}

OrderedJson null_or(std::string_view text) {
  return text.empty() ? OrderedJson() : OrderedJson(escape_json(text));
}

OrderedJson string_list(const std::vector<std::string>& texts) {
  OrderedJson list = OrderedJson::array();
  for (const std::string& text : texts) list.push_back(escape_json(text));
  return list;
}

OrderedJson optional_list(const std::optional<std::vector<std::string>>& texts) {
  return texts ? string_list(*texts) : OrderedJson();
}

// What --retry-failed reads back (previous_run.cpp); names as given, escaped like events.
OrderedJson rerun_json(const RunRecord& record) {
  OrderedJson j;
  j["plan_path"] = null_or(record.plan.path);
  j["inventories"] = OrderedJson::array();
  for (const FileDigest& inventory : record.inventories)
    j["inventories"].push_back(
        {{"path", escape_json(inventory.path)}, {"sha256", null_or(inventory.sha256)}});
  j["tasks"] = string_list(record.tasks);
  j["hosts"] = optional_list(record.hosts);
  j["limit"] = optional_list(record.limit);
  j["retry_of"] = null_or(record.retry_of);
  j["only"] = string_list(record.only);
  if (record.ad_hoc)
    j["ad_hoc"] = {{"command", escape_json(record.ad_hoc->command)},
                   {"sudo", record.ad_hoc->sudo},
                   {"timeout", null_or(record.ad_hoc->timeout)}};
  else
    j["ad_hoc"] = OrderedJson();
  return j;
}

OrderedJson summary_json(const RunTally& tally, std::string_view run_id, const RunRecord& record) {
  OrderedJson j;
  j["run_id"] = escape_json(tally.start() != nullptr ? tally.start()->run_id : run_id);
  j["plan"] =
      tally.start() != nullptr ? OrderedJson(escape_json(tally.start()->plan)) : OrderedJson();
  j["plan_sha256"] = null_or(record.plan.sha256);
  const RunEnd* end = tally.end();
  j["status"] = end != nullptr ? OrderedJson(to_string(end->status)) : OrderedJson();
  j["exit_code"] = end != nullptr ? OrderedJson(end->exit_code) : OrderedJson();
  j["reason"] = end != nullptr ? null_or(end->reason) : OrderedJson();
  j["started"] = format_rfc3339_ms(tally.started());
  j["duration_ms"] = tally.duration_ms();
  const StatusCounts counts = tally.counts();
  j["counts"] = {{"ok", counts.ok},
                 {"failed", counts.failed},
                 {"unreachable", counts.unreachable},
                 {"skipped", counts.skipped},
                 {"aborted", counts.aborted}};
  j["hosts"] = OrderedJson::array();
  for (const HostResult& host : tally.hosts()) {
    j["hosts"].push_back(
        {{"host", escape_json(host.host)},
         {"status", host.status ? OrderedJson(to_string(*host.status)) : OrderedJson()},
         {"changed", host.changed},
         {"error", null_or(host.error)}});
  }
  j["rerun"] = rerun_json(record);
  return j;
}

}  // namespace

std::string make_run_id(Clock::time_point now) {
  std::random_device random;
  const unsigned suffix = random() & 0xFFFFFFu;
  return fmt::format("{}-{:06x}", format_compact_utc(now), suffix);
}

bool is_run_id(std::string_view text) {
  constexpr std::string_view kShape = "99999999T999999Z-ffffff";  // 9: a digit, f: a hex digit
  if (text.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool ok = kShape[i] == '9'   ? std::isdigit(c) != 0
                    : kShape[i] == 'f' ? std::isdigit(c) != 0 || (c >= 'a' && c <= 'f')
                                       : c == static_cast<unsigned char>(kShape[i]);
    if (!ok) return false;
  }
  return true;
}

// Opens the folder `path` as a descriptor (following a symlink the user made) and checks what
// was opened: ours, and writable by nobody else (private_folder.hpp).
std::variant<int, std::string> open_private_folder(int at, const fs::path& name, const fs::path& path,
                                                   int flags) {
  const int fd = ::openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | flags);
  if (fd < 0)
    return fmt::format("open run log folder {}: {}", json_quoted(path.string()),
                       base::errno_text(errno));
  if (std::string reason = unsafe_folder_reason(fd, path); !reason.empty()) {
    ::close(fd);
    return reason;
  }
  return fd;
}

RunLog::Opened RunLog::open(const fs::path& log_dir, std::string_view run_id, RunRecord record) {
  if (!is_file_name(run_id)) return {nullptr, "invalid run id " + json_quoted(run_id)};
  if (std::string error = create_parents(log_dir); !error.empty()) return {nullptr, error};
  // issue 16: the folders are checked as opened, and everything inside is made relative to the
  // descriptors (openat, O_EXCL|O_NOFOLLOW), so nothing planted or swapped in is ever followed.
  auto log_fd = open_private_folder(AT_FDCWD, log_dir, log_dir, 0);
  if (auto* error = std::get_if<std::string>(&log_fd)) return {nullptr, *error};
  fs::path dir = log_dir / run_id;
  const std::string name(run_id);
  if (::mkdirat(std::get<int>(log_fd), name.c_str(), 0700) != 0) {
    const int error = errno;
    ::close(std::get<int>(log_fd));
    return {nullptr, fmt::format("create run log folder {}: {}", json_quoted(dir.string()),
                                 base::errno_text(error))};
  }
  auto dir_fd = open_private_folder(std::get<int>(log_fd), name, dir, O_NOFOLLOW);
  ::close(std::get<int>(log_fd));
  if (auto* error = std::get_if<std::string>(&dir_fd)) return {nullptr, *error};
  const int fd = ::openat(std::get<int>(dir_fd), "events.jsonl",
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  std::FILE* file = fd < 0 ? nullptr : ::fdopen(fd, "w");
  if (file == nullptr) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    ::close(std::get<int>(dir_fd));
    return {nullptr, fmt::format("create {}: {}", json_quoted((dir / "events.jsonl").string()),
                                 base::errno_text(error))};
  }
  return {std::unique_ptr<RunLog>(new RunLog(std::move(dir), std::string(run_id), std::move(record),
                                             file, std::get<int>(dir_fd))),
          {}};
}

RunLog::RunLog(fs::path dir, std::string run_id, RunRecord record, std::FILE* events, int dir_fd)
    : dir_(std::move(dir)),
      run_id_(std::move(run_id)),
      record_(std::move(record)),
      events_(events),
      dir_fd_(dir_fd),
      json_(events, JsonFlush::AtBoundaries) {}

RunLog::~RunLog() {
  finish();
  std::fclose(events_);
  ::close(dir_fd_);
}

void RunLog::on(const Event& event) {
  tally_.add(event);
  if (const auto* start = std::get_if<RunStart>(&event.body); start != nullptr && context_) {
    context_->wave_ends = start->wave_ends;
    write_context();
  }
  json_.on(event);
  // The summary is written at run_end, before the terminal's reporter (after this one in the
  // tee) prints how to rerun the run: it must know whether --retry-failed can find it.
  if (std::holds_alternative<RunEnd>(event.body) && !is_summary_tried_) write_summary();
  warn_of_errors();
}

void RunLog::finish() {
  if (is_finished_) return;
  is_finished_ = true;
  if (context_) write_context();
  json_.finish();
  warn_of_errors();
  if (!is_summary_tried_) write_summary();
  warn_of_errors();
}

const std::string& RunLog::error() const { return error_.empty() ? json_.error() : error_; }

// issue 16: a write that fails (disk full) is said once per file, when it happens, with what it
// costs; the caller also ends the run with a non-zero status (cli/reporting.cpp).
void RunLog::warn_of_errors() {
  if (!on_warning_) return;
  if (!is_events_warned_ && !json_.error().empty()) {
    is_events_warned_ = true;
    on_warning_(fmt::format("run log: write {}: {}: events from here on may be missing from it",
                            json_quoted((dir_ / "events.jsonl").string()), lower_first(json_.error())));
  }
  if (!is_summary_warned_ && !error_.empty()) {
    is_summary_warned_ = true;
    on_warning_(fmt::format("run log: {}: --retry-failed cannot use this run", error_));
  }
}

void RunLog::write_context() {
  const std::string error = write_run_context(dir_, *context_);
  context_.reset();
  if (!error.empty() && on_warning_)
    on_warning_(error + ": the HTML report will lack the command line and waves");
}

// Written to a temporary name, synced, then renamed over summary.json: a reader (or a crash)
// sees the whole summary or none, never half of one. Relative to the run folder's descriptor,
// created exclusively: never through a planted symlink.
void RunLog::write_summary() {
  const std::string text = summary_json(tally_, run_id_, record_).dump(2) + "\n";
  const char* temporary = "summary.json.tmp";
  const int fd = ::openat(dir_fd_, temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && base::write_all(fd, text) && ::fsync(fd) == 0;
  int error = errno;
  if (fd >= 0 && ::close(fd) != 0 && ok) {
    ok = false;
    error = errno;
  }
  if (ok && ::renameat(dir_fd_, temporary, dir_fd_, "summary.json") != 0) {
    ok = false;
    error = errno;
  }
  is_summary_tried_ = true;
  is_summary_written_ = ok;
  if (ok) return;
  if (fd >= 0) ::unlinkat(dir_fd_, temporary, 0);
  if (error_.empty())
    error_ = fmt::format("write {}: {}", json_quoted((dir_ / "summary.json").string()),
                         base::errno_text(error));
}

}  // namespace deployd::report
