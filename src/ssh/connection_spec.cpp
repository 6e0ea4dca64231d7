// SPDX-License-Identifier: MIT
// Spellings of connection settings in messages.
#include "ssh/connection_spec.hpp"

namespace deployd::ssh {

const char* to_string(HostKeyCheck mode) {
  switch (mode) {
    case HostKeyCheck::Strict:
      return "strict";
    case HostKeyCheck::AcceptNew:
      return "accept-new";
    case HostKeyCheck::Off:
      return "off";
  }
  return "strict";
}

std::string format_duration(std::chrono::milliseconds duration) {
  const auto ms = duration.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  if (ms < 1000) return std::to_string(ms) + "ms";
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + "s";
}

}  // namespace deployd::ssh
