// SPDX-License-Identifier: MIT
// events.jsonl -> RecordedRun (see recorded_run.hpp); the writer is json_reporter.cpp.
#include "report/recorded_run.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <unordered_map>

#include "report/escape.hpp"
#include "report/json_fields.hpp"

namespace deployd::report {

namespace fs = std::filesystem;

namespace {

using Json = nlohmann::json;

// `2026-11-28T13:42:35.123Z` (what format_rfc3339_ms writes) -> ms since the epoch.
std::optional<std::int64_t> parse_time_ms(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &y, &mo, &d, &h, &mi, &s, &ms) != 7)
    return std::nullopt;
  using namespace std::chrono;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  const auto days_ms = duration_cast<milliseconds>(sys_days(date).time_since_epoch()).count();
  return days_ms + ((h * 60 + mi) * 60 + s) * 1000LL + ms;
}

BarStatus bar_status(const Json& end) {
  const std::string status = string_or_empty(end, "status");
  if (status == "skipped") return BarStatus::Skipped;
  if (status == "failed" || status == "timed_out") return BarStatus::Failed;
  if (status == "changed" || end.value("changed", false)) return BarStatus::Changed;
  // A transfer that moved bytes changed the host; one that found the file in place did not.
  auto transfer = end.find("transfer");
  if (transfer != end.end() && transfer->is_object() && !transfer->value("unchanged", false) &&
      transfer->value("bytes", 0) > 0)
    return BarStatus::Changed;
  return BarStatus::Ok;
}

/// Follows the events, one host's open attempts at a time.
class Reader {
 public:
  explicit Reader(RecordedRun& run) : run_(run) {
    for (const std::string& host : run.context.hosts) host_index(host);
    std::size_t index = 0;
    for (std::size_t wave = 0; wave < run.context.wave_ends.size(); ++wave)
      for (; index < run.context.wave_ends[wave] && index < run.hosts.size(); ++index)
        run.hosts[index].wave = static_cast<int>(wave);
  }

  void add(const Json& e, std::int64_t time_ms) {
    const std::string kind = string_or_empty(e, "event");
    if (kind == "run_start") return start(e, time_ms);
    if (!has_start_) return;
    const std::int64_t at = time_ms - run_.start_epoch_ms;
    last_ms_ = std::max(last_ms_, at);
    if (kind == "step_start") return step_start(e, at);
    if (kind == "step_end") return step_end(e, at);
    if (kind == "output") return output(e);
    if (kind == "host_end") return host_end(e, at);
    if (kind == "run_end") return run_end(e);
  }

  bool has_start() const { return has_start_; }

  // Steps still open when the log ends were cut short by the end of the run: aborted.
  void finish() {
    if (run_.duration_ms == 0) run_.duration_ms = last_ms_;
    for (auto& [key, index] : open_) {
      HostRecord& host = run_.hosts[key.host];
      Attempt& attempt = host.attempts[index];
      attempt.status = BarStatus::Aborted;
      attempt.end_ms =
          std::max(attempt.start_ms, host.status.empty() ? run_.duration_ms : host.end_ms);
      if (attempt.error.empty()) attempt.error = "did not finish: the run ended first";
    }
    for (HostRecord& host : run_.hosts) {
      if (host.status.empty() && !host.attempts.empty()) host.end_ms = host.attempts.back().end_ms;
      // An aborted host's last step failed because it was cancelled (an abort, an interrupt).
      if (host.status == "aborted" && !host.attempts.empty() &&
          host.attempts.back().status == BarStatus::Failed)
        host.attempts.back().status = BarStatus::Aborted;
    }
  }

 private:
  struct Key {
    std::size_t host;
    int task;
    int step;
    bool operator<(const Key& o) const {
      return std::tie(host, task, step) < std::tie(o.host, o.task, o.step);
    }
  };

  std::size_t host_index(const std::string& name) {
    auto [it, is_new] = hosts_.try_emplace(name, run_.hosts.size());
    if (is_new) run_.hosts.push_back(HostRecord{.name = name});
    return it->second;
  }

  Key key_of(const Json& e) {
    return Key{host_index(string_or_empty(e, "host")), run_.task_index(string_or_empty(e, "task")),
               int_or(e, "step", 0)};
  }

  void start(const Json& e, std::int64_t time_ms) {
    if (has_start_) return;  // one run per log
    has_start_ = true;
    run_.start_epoch_ms = time_ms;
    run_.started = string_or_empty(e, "time");
    run_.run_id = string_or_empty(e, "run_id");
    run_.plan = string_or_empty(e, "plan");
    run_.plan_sha256 = string_or_empty(e, "plan_sha256");
    run_.host_count = int_or(e, "hosts", 0);
    if (auto tasks = e.find("tasks"); tasks != e.end() && tasks->is_array())
      for (const Json& task : *tasks)
        if (task.is_string()) run_.task_index(task.get<std::string>());
  }

  void step_start(const Json& e, std::int64_t at) {
    const Key key = key_of(e);
    HostRecord& host = run_.hosts[key.host];
    // An attempt before this one of the same step was retried (plan-format.md, Retries).
    if (auto last = last_.find(key); last != last_.end())
      host.attempts[last->second].status = BarStatus::Retried;
    host.attempts.push_back(Attempt{.task = key.task,
                                    .step = key.step,
                                    .name = string_or_empty(e, "name"),
                                    .start_ms = at,
                                    .end_ms = at});
    open_[key] = host.attempts.size() - 1;
  }

  void step_end(const Json& e, std::int64_t at) {
    const Key key = key_of(e);
    HostRecord& host = run_.hosts[key.host];
    auto open = open_.find(key);
    if (open == open_.end()) {  // a step_end without its start (a hand-cut log): one of its own
      host.attempts.push_back(
          Attempt{.task = key.task, .step = key.step, .start_ms = at, .end_ms = at});
      open = open_.emplace(key, host.attempts.size() - 1).first;
    }
    Attempt& attempt = host.attempts[open->second];
    attempt.end_ms = std::max(attempt.start_ms, at);
    attempt.status = bar_status(e);
    if (auto exit = e.find("exit_status"); exit != e.end() && exit->is_number_integer())
      attempt.exit_status = exit->get<int>();
    attempt.exit_signal = string_or_empty(e, "exit_signal");
    attempt.error = string_or_empty(e, "error");
    last_[key] = open->second;
    open_.erase(open);
  }

  void output(const Json& e) {
    const Key key = key_of(e);
    HostRecord& host = run_.hosts[key.host];
    const bool is_stderr = string_or_empty(e, "stream") == "stderr";
    std::string text = string_or_empty(e, "line");
    const bool continues = partial_.count(key.host) != 0 && !host.output.empty() &&
                           host.output.back().is_stderr == is_stderr;
    if (continues)
      host.output.back().text += text;
    else
      host.output.push_back(OutputLine{key.task, key.step, is_stderr, std::move(text)});
    if (e.value("partial", false))
      partial_.insert(key.host);
    else
      partial_.erase(key.host);
  }

  void host_end(const Json& e, std::int64_t at) {
    HostRecord& host = run_.hosts[host_index(string_or_empty(e, "host"))];
    host.status = string_or_empty(e, "status");
    host.error = string_or_empty(e, "error");
    host.end_ms = at;
  }

  void run_end(const Json& e) {
    run_.status = string_or_empty(e, "status");
    if (auto code = e.find("exit_code"); code != e.end() && code->is_number_integer())
      run_.exit_code = code->get<int>();
    if (auto duration = e.find("duration_ms"); duration != e.end() && duration->is_number_integer())
      run_.duration_ms = duration->get<std::int64_t>();
  }

  RecordedRun& run_;
  bool has_start_ = false;
  std::int64_t last_ms_ = 0;
  std::unordered_map<std::string, std::size_t> hosts_;
  std::map<Key, std::size_t> open_;  ///< attempts started and not ended
  std::map<Key, std::size_t> last_;  ///< each step's last ended attempt
  std::set<std::size_t> partial_;    ///< hosts whose last output line goes on
};

}  // namespace

const char* to_string(BarStatus status) {
  switch (status) {
    case BarStatus::Ok:
      return "ok";
    case BarStatus::Changed:
      return "changed";
    case BarStatus::Failed:
      return "failed";
    case BarStatus::Skipped:
      return "skipped";
    case BarStatus::Aborted:
      return "aborted";
    case BarStatus::Retried:
      return "retried";
  }
  return "ok";
}

int RecordedRun::task_index(const std::string& task) {
  auto found = std::find(tasks.begin(), tasks.end(), task);
  if (found != tasks.end()) return static_cast<int>(found - tasks.begin());
  tasks.push_back(task);
  return static_cast<int>(tasks.size() - 1);
}

std::optional<RecordedRun> read_recorded_run(const fs::path& dir, std::string& error) {
  const fs::path path = dir / "events.jsonl";
  std::ifstream in(path, std::ios::binary);
  const std::string quoted = Json(escape_json(path.string())).dump();
  if (!in) {
    error = fmt::format("cannot read {}", quoted);
    return std::nullopt;
  }
  RecordedRun run;
  run.dir = dir;
  auto [context, context_error] = read_run_context(dir);
  run.context = std::move(context);
  if (!context_error.empty()) run.warnings.push_back(context_error);
  Reader reader(run);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    const Json e = Json::parse(line, nullptr, false);
    std::optional<std::int64_t> time;
    if (!e.is_discarded() && e.is_object()) time = parse_time_ms(string_or_empty(e, "time"));
    if (!time) {
      run.warnings.push_back(fmt::format("{}:{}: not an event; skipped", quoted, number));
      continue;
    }
    reader.add(e, *time);
  }
  if (!reader.has_start()) {
    error = fmt::format("{} holds no run_start event", quoted);
    return std::nullopt;
  }
  reader.finish();
  return run;
}

}  // namespace deployd::report
