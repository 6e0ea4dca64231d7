// SPDX-License-Identifier: MIT
// Masks known secret values in events before any reporter sees them, as CI systems do.
#pragma once

#include <string>
#include <vector>

#include "deployd/reporter.hpp"

namespace deployd::report {

/// A Reporter in front of another that replaces every occurrence of a known secret value with
/// `***` in the texts that may carry one: output lines, step names, step and host errors.
/// The engine adds values as it learns them (what a `secret` step registers, `password_env`
/// passwords); events reported before a value is added are not changed.
class SecretMask final : public Reporter {
 public:
  /// Values shorter than this are not masked: masking "1" or "ok" would hide every output.
  static constexpr std::size_t kMinLength = 4;
  static constexpr const char* kMask = "***";

  explicit SecretMask(Reporter& next) : next_(next) {}

  /// Masks `value` from now on, and each of its lines on its own, since output events come
  /// a line at a time. Too short values and lines are ignored.
  void add(const std::string& value);
  /// Masks `text` only as a whole (a secret step's command or path: its lines may be common
  /// words like "done").
  void add_exact(const std::string& text) { add_one(text); }

  /// `text` with every known value replaced by `***`, the longest values first.
  std::string mask(std::string text) const;

  void on(const Event& event) override;
  void finish() override { next_.finish(); }

 private:
  void add_one(std::string value);
  Reporter& next_;
  /// Longest first, so that a value inside another is not half-masked.
  std::vector<std::string> values_;
};

}  // namespace deployd::report
