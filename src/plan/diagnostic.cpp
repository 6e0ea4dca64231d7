// SPDX-License-Identifier: MIT
// How a diagnostic reads: `plan.json:14:9: /tasks/deploy/steps/2: unknown key "rn" (...)`.
#include "deployd/diagnostic.hpp"

namespace deployd {

std::string Diagnostic::to_string() const {
  std::string text;
  if (!file.empty()) {
    text = file;
    if (line > 0) text += ":" + std::to_string(line);
    if (line > 0 && column > 0) text += ":" + std::to_string(column);
    text += ": ";
  }
  if (!json_pointer.empty()) text += json_pointer + ": ";
  return text + message;
}

}  // namespace deployd
