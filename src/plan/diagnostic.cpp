// SPDX-License-Identifier: MIT
// How a diagnostic reads: `plan.json:14:9: /tasks/deploy/steps/2: unknown key "rn" (...)`.
#include "deployd/diagnostic.hpp"

#include <cstdio>
#include <string_view>

namespace deployd {

namespace {

// `text` with control characters (C0, DEL, C1) written `\u00NN`, as messages quote values: a
// JSON pointer holds the plan's keys as they are, and diagnostics go to terminals.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  char escaped[8];
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    const auto next = i + 1 < text.size() ? static_cast<unsigned char>(text[i + 1]) : 0;
    if (byte < 0x20 || byte == 0x7F) {
      std::snprintf(escaped, sizeof escaped, "\\u%04x", byte);
      out += escaped;
    } else if (byte == 0xC2 && next >= 0x80 && next <= 0x9F) {
      std::snprintf(escaped, sizeof escaped, "\\u%04x", next);
      out += escaped;
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

std::string Diagnostic::to_string() const {
  std::string text;
  if (!file.empty()) {
    text = printable(file);
    if (line > 0) text += ":" + std::to_string(line);
    if (line > 0 && column > 0) text += ":" + std::to_string(column);
    text += ": ";
  }
  if (!json_pointer.empty()) text += printable(json_pointer) + ": ";
  return text + message;
}

}  // namespace deployd
