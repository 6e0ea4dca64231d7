// SPDX-License-Identifier: MIT
// The redrawn status line (see status_line.hpp).
#include "report/status_line.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <string>

namespace deployd::report {

namespace {
constexpr std::string_view kEraseLine = "\r\x1b[K";
}

// One write per redraw: carriage return, the text, then erase what an older, longer line left.
void StatusLine::show(std::string_view text) {
  std::string line = "\r";
  line.append(text).append("\x1b[K");
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
  is_shown_ = true;
}

void StatusLine::clear() {
  if (!is_shown_) return;
  std::fwrite(kEraseLine.data(), 1, kEraseLine.size(), out_);
  std::fflush(out_);
  is_shown_ = false;
}

std::size_t terminal_columns(std::FILE* out) {
  struct winsize size {};
  const int fd = ::fileno(out);
  if (fd < 0 || ::ioctl(fd, TIOCGWINSZ, &size) != 0) return 0;
  return size.ws_col;
}

}  // namespace deployd::report
