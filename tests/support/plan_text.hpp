// SPDX-License-Identifier: MIT
// Test helpers: plans from inline JSON text, loaded as "plan.json"; errors as the user sees them.
#pragma once

#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "deployd/load.hpp"
#include "support/temp_folder.hpp"

namespace deployd::testing {

/// Options that do not depend on who runs the tests.
inline LoadOptions test_options() {
  LoadOptions options;
  options.controller_user = "me";
  options.home = "/home/me";
  return options;
}

/// Loads `text` as if read from `plan.json`.
inline LoadResult load_text(std::string_view text, const LoadOptions& options = test_options()) {
  return parse_plan(text, "plan.json", options);
}

/// Every error of loading `text`, one `to_string()` per line; empty if the plan is valid.
inline std::string errors(std::string_view text, const LoadOptions& options = test_options()) {
  std::string lines;
  for (const Diagnostic& error : load_text(text, options).errors)
    lines += (lines.empty() ? "" : "\n") + error.to_string();
  return lines;
}

/// The plan `text` describes; the test fails (showing the errors) if it is not valid.
inline Plan plan_text(std::string_view text, const LoadOptions& options = test_options()) {
  LoadResult loaded = load_text(text, options);
  for (const Diagnostic& error : loaded.errors) FAIL_CHECK(error.to_string());
  REQUIRE(loaded.plan.has_value());
  return *loaded.plan;
}

/// Every error of loading `text` written to `plan.json` in `dir`, one per line, with the folder
/// left out of every path (`plan.json:2:5: ...`, `templates/app.conf: ...`).
inline std::string file_errors(const TempFolder& dir, std::string_view text,
                               const LoadOptions& options = test_options()) {
  const std::string path = dir.write("plan.json", text).string();
  const std::string folder = path.substr(0, path.size() - std::string_view("plan.json").size());
  std::string lines;
  for (const Diagnostic& error : load_plan(path, options).errors) {
    std::string line = error.to_string();
    for (std::size_t at; (at = line.find(folder)) != std::string::npos;)
      line.erase(at, folder.size());
    lines += (lines.empty() ? "" : "\n") + line;
  }
  return lines;
}

}  // namespace deployd::testing
