// SPDX-License-Identifier: MIT
// The one file of deployd_io that includes spdlog: ~5.5 CPU-s to compile each file that does
// (docs/ssh-notes.md, "Compile cost per translation unit").
#include "ssh/debug_log.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace deployd::ssh {

bool is_debug_logging() {
  const std::shared_ptr<spdlog::logger> logger = spdlog::get(kLoggerName);
  return logger && logger->should_log(spdlog::level::debug);
}

void debug_log(std::string_view message) {
  if (const std::shared_ptr<spdlog::logger> logger = spdlog::get(kLoggerName)) {
    logger->debug("{}", message);
  }
}

std::string format_phase(std::chrono::steady_clock::duration took) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1fms",
                std::chrono::duration<double, std::milli>(took).count());
  return text;
}

}  // namespace deployd::ssh
