// SPDX-License-Identifier: MIT
// Test helper: a Reporter that keeps every event, and a compact text of each for assertions.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <string>
#include <vector>

#include "deployd/reporter.hpp"

namespace deployd::testing {

/// Keeps the events of a run in order.
class RecordingReporter final : public Reporter {
 public:
  void on(const Event& event) override {
    events.push_back(event);
    if (on_event) on_event(event);
  }
  std::vector<Event> events;
  /// Called after each event is recorded: lets a test act at a point of the run.
  std::function<void(const Event&)> on_event;

  /// The error texts of `host`'s step_end events, in order.
  std::vector<std::string> step_errors(const std::string& host) const {
    std::vector<std::string> out;
    for (const Event& event : events)
      if (auto* e = std::get_if<StepEnd>(&event.body); e && e->host == host) out.push_back(e->error);
    return out;
  }

  /// The step_end lines of lines(), in order.
  std::vector<std::string> step_end_lines() const {
    std::vector<std::string> out;
    for (std::string& line : lines())
      if (line.rfind("step_end", 0) == 0) out.push_back(std::move(line));
    return out;
  }

  /// The host_end event of `host`, or an empty one.
  HostEnd host_end(const std::string& host) const {
    for (const Event& event : events)
      if (auto* e = std::get_if<HostEnd>(&event.body); e && e->host == host) return *e;
    return {};
  }

  /// One line per event, e.g. `step_end a hello 0 failed`; `host` filters to one host's events.
  std::vector<std::string> lines(const std::string& host = "") const {
    std::vector<std::string> out;
    for (const Event& event : events) {
      std::string text = describe(event, host);
      if (!text.empty()) out.push_back(text);
    }
    return out;
  }

 private:
  static std::string describe(const Event& event, const std::string& host) {
    auto keep = [&](const std::string& h) { return host.empty() || h == host; };
    if (auto* e = std::get_if<RunStart>(&event.body)) return host.empty() ? fmt::format("run_start {}", e->hosts) : "";
    if (auto* e = std::get_if<StepStart>(&event.body))
      return keep(e->host) ? fmt::format("step_start {} {} {}", e->host, e->task, e->step) : "";
    if (auto* e = std::get_if<Output>(&event.body))
      return keep(e->host) ? fmt::format("{} {} {}: {}", to_string(e->stream), e->host, e->step, e->line) : "";
    if (auto* e = std::get_if<StepEnd>(&event.body))
      return keep(e->host) ? fmt::format("step_end {} {} {} {}", e->host, e->task, e->step, to_string(e->status)) : "";
    if (auto* e = std::get_if<HostEnd>(&event.body))
      return keep(e->host) ? fmt::format("host_end {} {}", e->host, to_string(e->status)) : "";
    if (auto* e = std::get_if<RunEnd>(&event.body))
      return host.empty() ? fmt::format("run_end {} {}", to_string(e->status), e->exit_code) : "";
    return "";
  }
};

}  // namespace deployd::testing
