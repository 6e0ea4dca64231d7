// SPDX-License-Identifier: MIT
// Replaying a run log (see replay.hpp).
#include "cli/replay.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <vector>

#include "deployd/exit_code.hpp"
#include "report/escape.hpp"
#include "report/event_reader.hpp"
#include "report/group_reporter.hpp"
#include "report/stream_reporter.hpp"

namespace deployd::cli {
namespace {

const std::string* host_of(const Event& event) {
  return std::visit(
      [](const auto& body) -> const std::string* {
        if constexpr (requires { body.host; }) {
          return &body.host;
        } else {
          return nullptr;
        }
      },
      event.body);
}

// What group mode waits for in a run log from before run_start announced it: each task's
// hosts and steps, taken from the events (run_start's task order first).
std::vector<TaskTargets> recorded_targets(const std::vector<Event>& events) {
  std::vector<TaskTargets> targets;
  std::map<std::string, std::size_t> index;
  std::map<std::string, std::set<std::string>> seen;
  auto target = [&](const std::string& task) -> TaskTargets& {
    auto [it, is_new] = index.try_emplace(task, targets.size());
    if (is_new) targets.push_back(TaskTargets{task, 0, {}});
    return targets[it->second];
  };
  for (const Event& event : events) {
    if (const auto* start = std::get_if<RunStart>(&event.body)) {
      for (const std::string& task : start->tasks) target(task);
    } else if (const auto* step = std::get_if<StepStart>(&event.body)) {
      TaskTargets& t = target(step->task);
      t.steps = std::max(t.steps, step->step + 1);
      if (seen[step->task].insert(step->host).second) t.hosts.push_back(step->host);
    } else if (const auto* end = std::get_if<StepEnd>(&event.body)) {
      TaskTargets& t = target(end->task);  // skipped steps end without starting
      t.steps = std::max(t.steps, end->step + 1);
      if (seen[end->task].insert(end->host).second) t.hosts.push_back(end->host);
    }
  }
  return targets;
}

// run_start as group mode reads it: an older log's targets taken from its events, and with
// --host only that host, in one wave.
void complete_run_start(std::vector<Event>& events, const std::string& host) {
  std::vector<TaskTargets> recorded = recorded_targets(events);
  for (Event& event : events) {
    auto* start = std::get_if<RunStart>(&event.body);
    if (start == nullptr) continue;
    if (start->targets.empty()) start->targets = recorded;
    if (start->host_names.empty()) start->wave_ends.clear();  // nothing to index
    if (host.empty()) continue;
    for (TaskTargets& target : start->targets)
      std::erase_if(target.hosts, [&](const std::string& name) { return name != host; });
    start->host_names = {host};
    start->wave_ends.clear();
  }
}

}  // namespace

int replay_run(const std::filesystem::path& dir, const std::string& output, const std::string& host,
               bool color) {
  std::vector<std::string> warnings;
  std::string error;
  std::optional<std::vector<Event>> events = report::read_events(dir, warnings, error);
  for (const std::string& warning : warnings) std::fprintf(stderr, "deployd: warning: %s\n", warning.c_str());
  if (!events) {
    std::fprintf(stderr, "deployd: error: %s\n", error.c_str());
    return static_cast<int>(ExitCode::InvalidPlan);
  }
  std::vector<std::string> hosts;
  for (const Event& event : *events)
    if (const std::string* name = host_of(event); name && std::find(hosts.begin(), hosts.end(), *name) == hosts.end())
      hosts.push_back(*name);
  if (!host.empty()) {
    if (std::find(hosts.begin(), hosts.end(), host) == hosts.end()) {
      std::fprintf(stderr, "deployd: error: --host: the run has no host \"%s\"\n", report::escape_terminal(host).c_str());
      return static_cast<int>(ExitCode::InvalidPlan);
    }
    std::erase_if(*events, [&](const Event& event) {
      const std::string* name = host_of(event);
      return name != nullptr && *name != host;
    });
    hosts = {host};
  }
  std::unique_ptr<Reporter> reporter;
  if (output == "group") {
    complete_run_start(*events, host);
    report::GroupOptions group;
    group.color = color;
    group.host_width = report::host_column_width(hosts);
    group.run_log = dir.string();
    group.messages = stderr;  // as the live run printed them (reporting.cpp)
    reporter = std::make_unique<report::GroupReporter>(stdout, std::move(group));
  } else {
    report::StreamOptions stream;
    stream.host_width = report::host_column_width(hosts);
    stream.color = color;
    stream.run_log = dir.string();
    stream.messages = stderr;
    reporter = std::make_unique<report::StreamReporter>(stdout, stream);
  }
  for (const Event& event : *events) reporter->on(event);
  reporter->finish();
  return 0;
}

}  // namespace deployd::cli
