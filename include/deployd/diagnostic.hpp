// SPDX-License-Identifier: MIT
// A plan error: the file, the JSON pointer, line:column where known, and the message.
#pragma once

#include <string>

namespace deployd {

/// One error found in a plan or on the command line, located as precisely as possible.
struct Diagnostic {
  std::string file;          ///< as the user gave it; empty for command-line errors
  std::string json_pointer;  ///< e.g. `/tasks/deploy/steps/2`; empty when it concerns the whole file
  int line = 0;              ///< 1-based; 0 when unknown
  int column = 0;            ///< 1-based; 0 when unknown
  std::string message;       ///< lower case, no trailing period, user values quoted as JSON

  /// `plan.json:14:9: /tasks/deploy/steps/2: unknown key "rn" (did you mean "run"?)`
  std::string to_string() const;
};

inline bool operator<(const Diagnostic& a, const Diagnostic& b) {
  if (a.file != b.file) return a.file < b.file;
  if (a.line != b.line) return a.line < b.line;
  return a.column < b.column;
}

}  // namespace deployd
