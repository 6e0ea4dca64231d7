// SPDX-License-Identifier: MIT
// `--output json` and the run log's events.jsonl: one JSON object per event, one per line.
#pragma once

#include <cstdio>
#include <string>

#include "deployd/reporter.hpp"

namespace deployd::report {

class StatusLine;

/// One event as one JSON object, without the newline: exactly the fields of plan-format.md
/// ("JSON events"), `event` and `time` first. Strings are escaped with escape_json().
std::string event_to_json(const Event& event);

/// When a JsonReporter hands its buffered lines to the kernel.
enum class JsonFlush {
  Auto,       ///< EachEvent for pipes and terminals, AtBoundaries for regular files
  EachEvent,  ///< after every line, so a consumer (`deployd ... --output json | jq`) sees it live
  AtBoundaries,  ///< after run_start, step_end, host_end and run_end only
};

/// Writes every event as a line of JSON to a stdio stream it borrows (it never closes it).
class JsonReporter final : public Reporter {
 public:
  explicit JsonReporter(std::FILE* out, JsonFlush flush = JsonFlush::Auto);

  void on(const Event& event) override;
  void finish() override;

  /// Clears `line` before each write: a status line drawn on the same terminal (may be null).
  void set_status_line(StatusLine* line) { status_line_ = line; }

  /// The first write error (e.g. "No space left on device"), empty while every write succeeded.
  const std::string& error() const { return error_; }

  /// Hands the buffered lines to the file now (a regular file is otherwise flushed at
  /// boundaries only).
  void flush();

 private:

  std::FILE* out_;
  bool flush_each_event_;
  std::string error_;
  StatusLine* status_line_ = nullptr;
};

}  // namespace deployd::report
