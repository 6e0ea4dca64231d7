// SPDX-License-Identifier: MIT
// `--junit FILE`: the run as a JUnit XML report for CI systems, from its events alone.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "deployd/reporter.hpp"

namespace deployd::report {

/// Text for XML 1.0 character data (`is_attribute`: for a double-quoted attribute value).
/// Bytes that are not valid UTF-8 become `\xNN` as in escape_json; so do the control characters
/// that XML 1.0 cannot carry at all (C0 but tab, LF, CR; U+FFFE, U+FFFF), byte by byte. Tab,
/// LF and CR are kept as character references where a parser would otherwise normalise them.
std::string escape_xml(std::string_view bytes, bool is_attribute);

/// Collects one test case per host and task (classname = task, name = host) and one per host
/// that ended without running any task (classname "connect": unreachable, not started), then
/// writes the report when the run finishes, interrupted or not. A failed case carries the step
/// error and the last stderr lines of the task; a task whose steps were all skipped is skipped.
class JunitReporter final : public Reporter {
 public:
  /// How many stderr lines of a failed task its <failure> keeps.
  static constexpr std::size_t kStderrLines = 20;

  explicit JunitReporter(std::filesystem::path file) : file_(std::move(file)) {}

  void on(const Event& event) override;
  /// Writes the file (0600, through a temporary file renamed over it); a failure is a warning
  /// on stderr, as for --report. Only the first call writes.
  void finish() override;

  /// The report as it stands: the whole XML document.
  std::string xml() const;

 private:
  struct Case {
    std::string host;
    std::string task;  ///< "connect" for a host that ran no task
    std::int64_t duration_ms = 0;
    int steps_ended = 0;
    int steps_skipped = 0;
    bool is_running = false;  ///< a step started and has not ended
    std::string failure_type;  ///< "failed", "timed_out", "aborted", "unreachable"; empty: none
    std::string failure_message;
    std::string skip_message;
    std::vector<std::string> stderr_lines;
    bool last_line_partial = false;
  };

  Case& case_for(const std::string& host, const std::string& task);

  std::filesystem::path file_;
  std::string timestamp_;
  std::vector<std::string> task_order_;
  std::vector<Case> cases_;
  std::map<std::pair<std::string, std::string>, std::size_t> index_;
  std::map<std::string, bool> host_has_case_;
  std::int64_t run_duration_ms_ = -1;
  bool is_finished_ = false;
};

}  // namespace deployd::report
