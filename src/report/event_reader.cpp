// SPDX-License-Identifier: MIT
// events.jsonl -> Events (see event_reader.hpp); the writer is json_reporter.cpp.
#include "report/event_reader.hpp"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "report/escape.hpp"

namespace deployd::report {

namespace {

using Json = nlohmann::json;

std::optional<Clock::time_point> parse_time(const std::string& text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &y, &mo, &d, &h, &mi, &s, &ms) != 7)
    return std::nullopt;
  using namespace std::chrono;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  if (!date.ok()) return std::nullopt;
  return sys_days(date) + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms};
}

/// A string member as the event held it: the run log writes bytes that are not UTF-8 as `\xNN`
/// (escape.hpp), and reading gives the bytes back.
std::string text(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? unescape_bytes(it->get<std::string>()) : std::string();
}

/// A list of strings as text() reads each; other members of the list are left out.
std::vector<std::string> texts(const Json& j, const char* key) {
  std::vector<std::string> out;
  if (auto it = j.find(key); it != j.end() && it->is_array())
    for (const Json& item : *it)
      if (item.is_string()) out.push_back(unescape_bytes(item.get<std::string>()));
  return out;
}

template <typename T>
T number(const Json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<T>() : T{};
}

template <typename Enum, std::size_t N>
Enum enum_of(const std::string& name, const Enum (&values)[N], Enum fallback) {
  for (Enum value : values)
    if (name == to_string(value)) return value;
  return fallback;
}

constexpr StepStatus kStepStatuses[] = {StepStatus::Ok, StepStatus::Failed, StepStatus::Skipped,
                                        StepStatus::TimedOut, StepStatus::Aborted};
constexpr HostStatus kHostStatuses[] = {HostStatus::Ok, HostStatus::Failed, HostStatus::Unreachable,
                                        HostStatus::Skipped, HostStatus::Aborted};
constexpr RunStatus kRunStatuses[] = {RunStatus::Ok, RunStatus::Failed, RunStatus::Aborted,
                                      RunStatus::Interrupted};

}  // namespace

std::optional<Event> event_from_json(std::string_view line) {
  const Json j = Json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  const std::optional<Clock::time_point> time = parse_time(text(j, "time"));
  if (!time) return std::nullopt;
  const std::string kind = text(j, "event");
  if (kind == "run_start") {
    RunStart e{text(j, "run_id"), text(j, "plan"), number<int>(j, "hosts"), {}, text(j, "plan_sha256")};
    e.tasks = texts(j, "tasks");
    // Absent in run logs written before runs announced their waves.
    if (auto it = j.find("wave_ends"); it != j.end() && it->is_array())
      for (const Json& end : *it)
        if (end.is_number_unsigned()) e.wave_ends.push_back(end.get<std::size_t>());
    e.host_names = texts(j, "host_names");
    if (auto it = j.find("targets"); it != j.end() && it->is_array())
      for (const Json& target : *it)
        if (target.is_object())
          e.targets.push_back(TaskTargets{text(target, "task"), number<int>(target, "steps"),
                                          texts(target, "hosts")});
    return Event{*time, std::move(e)};
  }
  if (kind == "step_start")
    return Event{*time, StepStart{text(j, "host"), text(j, "task"), number<int>(j, "step"),
                                  text(j, "name"), text(j, "delegate")}};
  if (kind == "output") {
    Output e{text(j, "host"), text(j, "task"), number<int>(j, "step"),
             text(j, "stream") == "stderr" ? OutputStream::Stderr : OutputStream::Stdout, text(j, "line"), false};
    if (auto it = j.find("partial"); it != j.end() && it->is_boolean()) e.is_partial = it->get<bool>();
    return Event{*time, std::move(e)};
  }
  if (kind == "step_end") {
    StepEnd e;
    e.host = text(j, "host");
    e.task = text(j, "task");
    e.step = number<int>(j, "step");
    e.status = enum_of(text(j, "status"), kStepStatuses, StepStatus::Failed);
    if (auto it = j.find("exit_status"); it != j.end() && it->is_number_integer()) e.exit_status = it->get<int>();
    e.exit_signal = text(j, "exit_signal");
    e.duration_ms = number<std::int64_t>(j, "duration_ms");
    e.error = text(j, "error");
    if (auto it = j.find("ignored"); it != j.end() && it->is_boolean()) e.ignored = it->get<bool>();
    if (auto it = j.find("changed"); it != j.end() && it->is_boolean()) e.changed = it->get<bool>();
    if (auto it = j.find("transfer"); it != j.end() && it->is_object()) {
      TransferStats transfer;
      transfer.bytes = number<std::uint64_t>(*it, "bytes");
      if (auto u = it->find("unchanged"); u != it->end() && u->is_boolean()) transfer.unchanged = u->get<bool>();
      e.transfer = transfer;
    }
    return Event{*time, std::move(e)};
  }
  if (kind == "progress")
    return Event{*time, Progress{text(j, "host"), text(j, "task"), number<int>(j, "step"),
                                 number<std::uint64_t>(j, "bytes"), number<std::uint64_t>(j, "total"),
                                 number<std::uint64_t>(j, "bytes_per_second")}};
  if (kind == "host_end")
    return Event{*time, HostEnd{text(j, "host"), enum_of(text(j, "status"), kHostStatuses, HostStatus::Failed),
                                text(j, "error")}};
  if (kind == "run_end") {
    RunEnd e;
    e.status = enum_of(text(j, "status"), kRunStatuses, RunStatus::Failed);
    e.exit_code = number<int>(j, "exit_code");
    if (auto it = j.find("counts"); it != j.end() && it->is_object()) {
      e.counts.ok = number<int>(*it, "ok");
      e.counts.failed = number<int>(*it, "failed");
      e.counts.unreachable = number<int>(*it, "unreachable");
      e.counts.skipped = number<int>(*it, "skipped");
      e.counts.aborted = number<int>(*it, "aborted");
    }
    e.duration_ms = number<std::int64_t>(j, "duration_ms");
    e.reason = text(j, "reason");
    return Event{*time, e};
  }
  return std::nullopt;
}

std::optional<std::vector<Event>> read_events(const std::filesystem::path& dir, std::vector<std::string>& warnings,
                                              std::string& error) {
  const std::filesystem::path file = dir / "events.jsonl";
  const std::string quoted = "\"" + escape_terminal(file.string()) + "\"";
  std::ifstream in(file);
  if (!in) {
    error = "cannot read " + quoted;
    return std::nullopt;
  }
  std::vector<Event> events;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    if (std::optional<Event> event = event_from_json(line)) {
      events.push_back(std::move(*event));
    } else {
      warnings.push_back(fmt::format("{}:{}: not an event; skipped", quoted, number));
    }
  }
  return events;
}

}  // namespace deployd::report
