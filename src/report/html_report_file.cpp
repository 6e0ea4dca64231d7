// SPDX-License-Identifier: MIT
// The HTML report as a file (see html_report_file.hpp).
#include "report/html_report_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "report/escape.hpp"
#include "report/html_report.hpp"
#include "report/path_text.hpp"
#include "report/recorded_run.hpp"
#include "report/whole_file.hpp"

namespace deployd::report {

namespace fs = std::filesystem;

std::string write_html_report(const fs::path& run_dir, const fs::path& file) {
  std::string error;
  std::optional<RecordedRun> run = read_recorded_run(run_dir, error);
  if (!run) return error;
  const std::string page = render_html_report(*run);
  const std::string failure = write_whole_file(file, page);
  if (failure.empty()) return {};
  return fmt::format("write the HTML report {}: {}", quoted_path(file), failure);
}

void HtmlReportWriter::finish() {
  if (is_finished_) return;
  is_finished_ = true;
  if (std::string error = write_html_report(run_dir_, file_); !error.empty())
    std::fprintf(stderr, "deployd: warning: %s\n", error.c_str());
}

}  // namespace deployd::report
