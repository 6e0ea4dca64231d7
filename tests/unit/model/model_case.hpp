// SPDX-License-Identifier: MIT
// One case of the model-based test (issue 14): a plan, the command line it is run with, and the
// failures it meets. Its JSON text is what a failing case prints and what a regression test
// pastes back, so a case never depends on the generator that made it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace deployd::model {

/// Task order is meaning in a plan: keep the document order of every object.
using Json = nlohmann::ordered_json;

/// A plan run once over the fake transport.
struct Case {
  Json plan;                       ///< the plan file, as deployd reads it
  std::vector<std::string> names;  ///< tasks named on the command line
  std::vector<std::string> limit;  ///< `--limit` patterns
  /// "task@host#step": that step exits 1 there ("@local" too); "...#stepxN": only its first N
  /// attempts do (a flaky step, for `retries`; remote steps only).
  std::vector<std::string> fail;
  std::vector<std::string> unreachable;  ///< hosts that refuse every connection
  /// "task@host#step": that `put` finds the remote file equal, so it is not changed (issue 17);
  /// the retry run meets the same.
  std::vector<std::string> unchanged;
  int sessions = 0;                      ///< RunSetup::max_open_sessions (0: no limit)
  /// Then `--retry-failed` (same tasks and --limit), meeting these failures instead.
  bool retry = false;
  std::vector<std::string> retry_fail;
  std::vector<std::string> retry_unreachable;
};

/// Where one injected failure strikes.
struct FailPoint {
  std::string task;
  std::string host;
  int step = 0;
  int attempts = 0;  ///< fails only its first this-many attempts; 0: every attempt
};

/// "t1@h02#0" -> {t1, h02, 0}; nullopt-like empty task for a malformed text.
FailPoint parse_fail(const std::string& text);
std::string fail_text(const FailPoint& point);

/// The case as one line of JSON: {"plan": ..., "names": ..., "limit": ..., "fail": ...,
/// "unreachable": ..., "sessions": ...}; empty members are left out.
std::string to_text(const Case& c);
/// The inverse of to_text; throws nlohmann::json::exception on malformed text.
Case case_from_text(std::string_view text);

}  // namespace deployd::model
