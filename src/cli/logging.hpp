// SPDX-License-Identifier: MIT
// `-v`: the "deployd" spdlog logger that the engine's debug lines go to (never command output).
#pragma once

namespace deployd::report {
class StatusLine;
}

namespace deployd::cli {

/// Registers the "deployd" logger for its lifetime: debug level to stderr when `verbose`, else
/// warnings only. Each line first clears `status_line` (may be null), so log lines and the
/// progress line never mix.
class LoggingScope {
 public:
  LoggingScope(bool verbose, report::StatusLine* status_line);
  ~LoggingScope();
  LoggingScope(const LoggingScope&) = delete;
  LoggingScope& operator=(const LoggingScope&) = delete;
};

}  // namespace deployd::cli
