// SPDX-License-Identifier: MIT
// The one file of deployd_io that includes spdlog (compile cost, ssh-facts.md).
#include "ssh/debug_log.hpp"

#include <spdlog/spdlog.h>

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

}  // namespace deployd::ssh
