// SPDX-License-Identifier: MIT
// Inline plans for the plan tests: load text as "plan.json" and show errors as the user sees them.
#pragma once

#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "deployd/load.hpp"

namespace deployd::test {

/// Options that do not depend on who runs the tests.
inline LoadOptions test_options() {
  LoadOptions options;
  options.controller_user = "me";
  options.home = "/home/me";
  return options;
}

/// Loads `text` as if read from `plan.json`.
inline LoadResult plan_text(std::string_view text, const LoadOptions& options = test_options()) {
  return parse_plan(text, "plan.json", options);
}

/// Every error of loading `text`, one `to_string()` per line; empty if the plan is valid.
inline std::string errors(std::string_view text, const LoadOptions& options = test_options()) {
  std::string lines;
  for (const Diagnostic& error : plan_text(text, options).errors)
    lines += (lines.empty() ? "" : "\n") + error.to_string();
  return lines;
}

/// The plan `text` describes; the test fails (showing the errors) if it is not valid.
inline Plan valid_plan(std::string_view text, const LoadOptions& options = test_options()) {
  LoadResult result = plan_text(text, options);
  INFO(errors(text, options));
  REQUIRE(result.plan.has_value());
  return *result.plan;
}

/// A scratch folder for files the loader reads from disk (inventories), removed at the end.
class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("deployd-plan-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// Writes `text` to `name` in the folder (making its subfolders) and returns its path.
  std::string write(const std::string& name, std::string_view text) const {
    std::filesystem::path file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file.string();
  }

 private:
  static int& counter() {
    static int value = 0;
    return value;
  }
  std::filesystem::path path_;
};

}  // namespace deployd::test
