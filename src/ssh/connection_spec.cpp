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

}  // namespace deployd::ssh
