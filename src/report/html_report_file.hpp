// SPDX-License-Identifier: MIT
// Writing the HTML report of a run log folder to a file: `deployd show RUN --html FILE`, and
// `--report FILE` at the end of a run (HtmlReportWriter), interrupted or not.
#pragma once

#include <filesystem>
#include <string>

#include "deployd/reporter.hpp"

namespace deployd::report {

/// Reads the run in `run_dir` and writes its report to `file` (0600, like the run log: output
/// may hold what other users should not read), through a temporary file renamed over it.
/// Returns an error message, empty when written.
std::string write_html_report(const std::filesystem::path& run_dir,
                              const std::filesystem::path& file);

/// Writes the report when the run finishes. Put it after the run log in a TeeReporter: it reads
/// what the run log has just written. A failure is a warning on stderr: the run is done anyway.
class HtmlReportWriter final : public Reporter {
 public:
  HtmlReportWriter(std::filesystem::path run_dir, std::filesystem::path file)
      : run_dir_(std::move(run_dir)), file_(std::move(file)) {}
  void on(const Event&) override {}
  void finish() override;

 private:
  std::filesystem::path run_dir_;
  std::filesystem::path file_;
  bool is_finished_ = false;
};

}  // namespace deployd::report
