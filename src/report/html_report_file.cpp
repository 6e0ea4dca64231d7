// SPDX-License-Identifier: MIT
// The HTML report as a file (see html_report_file.hpp).
#include "report/html_report_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "report/escape.hpp"
#include "report/html_report.hpp"
#include "report/recorded_run.hpp"

namespace deployd::report {

namespace fs = std::filesystem;

namespace {

std::string quoted(const fs::path& path) {
  return nlohmann::json(escape_json(path.string())).dump();
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

std::string write_html_report(const fs::path& run_dir, const fs::path& file) {
  std::string error;
  std::optional<RecordedRun> run = read_recorded_run(run_dir, error);
  if (!run) return error;
  const std::string page = render_html_report(*run);
  const fs::path temporary = fs::path(file.string() + ".tmp");
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  bool ok = fd >= 0 && write_all(fd, page);
  int code = errno;
  if (fd >= 0 && ::close(fd) != 0 && ok) {
    ok = false;
    code = errno;
  }
  if (ok && ::rename(temporary.c_str(), file.c_str()) != 0) {
    ok = false;
    code = errno;
  }
  if (ok) return {};
  if (fd >= 0) ::unlink(temporary.c_str());
  return fmt::format("write the HTML report {}: {}", quoted(file), std::strerror(code));
}

void HtmlReportWriter::finish() {
  if (is_finished_) return;
  is_finished_ = true;
  if (std::string error = write_html_report(run_dir_, file_); !error.empty())
    std::fprintf(stderr, "deployd: warning: %s\n", error.c_str());
}

}  // namespace deployd::report
