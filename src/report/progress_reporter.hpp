// SPDX-License-Identifier: MIT
// Live progress on a terminal: one status line on stderr, redrawn a few times a second.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "deployd/reporter.hpp"

namespace deployd::report {

class StatusLine;

/// What a ProgressReporter knows of the run besides its events.
struct ProgressOptions {
  /// The run's hosts in order, which is how waves take them: run_start's `wave_ends` index them.
  std::vector<std::string> hosts;
  std::size_t slowest = 3;  ///< running hosts named, the longest on their step first
};

/// Follows the run's events and, on each tick(), draws on a StatusLine:
///
///     [12 done, 1 failed, 256 running, 231 waiting] wave 2/4, 3.1 hosts/s, ETA 2m05s,
///     slowest: web07 12.4s deploy step 3, web09 10.1s deploy step 3
///
/// (one line in the terminal's width: the rate goes first, then the ETA, then the slowest hosts
/// but one, so that an 80-column terminal still names the slowest host; issue 19). It prints
/// nothing on events, so a million output
/// lines cost no redraws; the CLI ticks it from a timer, only when stderr is a terminal.
class ProgressReporter final : public Reporter {
 public:
  ProgressReporter(StatusLine& line, ProgressOptions options);

  void on(const Event& event) override;
  /// Erases the line for good: the run is over.
  void finish() override;

  /// A host in its SSH connection and for how long, as the engine knows it (no event says so).
  struct Connecting {
    std::string host;
    std::int64_t elapsed_ms = 0;
  };
  /// The hosts connecting now: counted as `connecting`, not `waiting`, and named among the
  /// slowest as `web07 12.0s connecting` (a hung sshd; issue 19). Kept until the next call.
  void set_connecting(std::vector<Connecting> hosts) { connecting_ = std::move(hosts); }

  /// Redraws the line as of `now`, cut to `columns` (0: no limit). Nothing once finished.
  void tick(Clock::time_point now, std::size_t columns);

  /// The line's text as of `now`, in `columns` (0: all of it) if it can: else the counts
  /// without those at 0 and the slowest host, longer than `columns` (tick() cuts it).
  std::string text(Clock::time_point now, std::size_t columns = 0) const;

 private:
  struct HostProgress {
    bool is_ended = false;
    bool is_on_step = false;
    std::string step;  ///< `deploy step 3`
    Clock::time_point step_started{};
  };

  HostProgress& host(const std::string& name);
  std::vector<std::string> slowest(Clock::time_point now) const;  ///< `web07 12.4s deploy step 3`

  StatusLine& line_;
  ProgressOptions options_;
  std::unordered_map<std::string, std::size_t> host_order_;
  std::vector<std::size_t> wave_ends_;  ///< as run_start announced them
  std::unordered_map<std::string, HostProgress> hosts_;
  int total_ = 0;
  int ended_ = 0;
  int failed_ = 0;
  std::size_t last_started_ = 0;  ///< one past the highest host index that has started
  Clock::time_point first_event_{};
  bool has_started_ = false;
  bool is_finished_ = false;
  std::vector<Connecting> connecting_;
};

}  // namespace deployd::report
