// SPDX-License-Identifier: MIT
// Masks known secret values in events before any reporter sees them, as CI systems do.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "deployd/reporter.hpp"
#include "report/pattern_set.hpp"

namespace deployd::report {

/// A Reporter in front of another that replaces every occurrence of a known secret value with
/// `***` in the texts that may carry one: output lines, step names, step and host errors.
/// The engine adds values as it learns them (what a `secret` step registers, `password_env`
/// passwords); events reported before a value is added are not changed.
///
/// Masking is linear in the text (Aho-Corasick, see pattern_set.hpp), however many values or
/// lines are known. A value learned on one host is masked in every host's events when it is at
/// least kMinEveryHostLength long, else only in that host's: one host's short secret line
/// ("true", "done") must not blank a common word in every other host's output.
class SecretMask final : public Reporter {
 public:
  /// Values shorter than this are not masked: masking "1" or "ok" would hide every output.
  static constexpr std::size_t kMinLength = 4;
  /// A value learned on one host is masked on every host from this length on.
  static constexpr std::size_t kMinEveryHostLength = 16;
  /// A multi-line value larger than this is masked through its lines only, when they all can be.
  static constexpr std::size_t kMaxWholeValue = 1 << 20;
  static constexpr const char* kMask = "***";

  explicit SecretMask(Reporter& next) : next_(next) {}

  /// Masks `value` from now on, and each of its lines on its own, since output events come
  /// a line at a time. Too short values and lines are ignored. `host`: the host whose step
  /// learned it; empty: a value of the whole run (a password, what a local or run_once task
  /// registers), masked on every host whatever its length.
  void add(const std::string& value, const std::string& host = {});
  /// Masks `text` only as a whole (a hidden step's command or path: its lines may be common
  /// words like "done").
  void add_exact(const std::string& text, const std::string& host = {});

  /// `text`, from an event of `host`, with each run of bytes covered by known values replaced
  /// by one `***` (overlapping or adjacent values make one run).
  std::string mask(std::string text, const std::string& host = {}) const;

  void on(const Event& event) override;
  void finish() override { next_.finish(); }

  /// Transitions of every automaton so far (see PatternSet::steps): tests check linear work.
  std::uint64_t steps() const;

 private:
  void add_patterns(std::vector<std::string> patterns, const std::string& host);
  Reporter& next_;
  PatternSet every_host_;
  std::unordered_map<std::string, PatternSet> by_host_;
};

}  // namespace deployd::report
