// SPDX-License-Identifier: MIT
// Model-based test of the task graph and scheduler (issue 14): random plans run through the
// real engine over the fake transport, judged by an independent reference model of
// /work/notes/semantics.md (R1-R5). No timings asserted.
//
//   DEPLOYD_MODEL_CASES=20000   how many random cases (default below)
//   DEPLOYD_MODEL_SEED=123      the first case's seed (default fixed; "random": from the clock)
//   DEPLOYD_MODEL_FEATURES=-waves,-limit   switch generator features or checks off (or on)
//   DEPLOYD_MODEL_PRINT=10      how many failing cases to shrink and print (default 3)
//
// A failing case prints its seed, a shrunk copy of it as JSON and the regression test to add
// below: `check_case(R"json(...)json");`.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "model/case_generator.hpp"
#include "model/model_case.hpp"
#include "model/model_run.hpp"
#include "model/reference_model.hpp"
#include "support/recording_reporter.hpp"

namespace deployd::model {
namespace {

constexpr int kDefaultCases = 3000;
constexpr std::uint64_t kDefaultSeed = 20261207;
constexpr int kPrintedFailures = 3;  // each is shrunk, which costs hundreds of runs

/// The features in force: everything, less what the engine does not implement yet (each
/// exception names its finding in /work/notes/model-findings.md), then DEPLOYD_MODEL_FEATURES.
Features features_in_force() {
  Features features;
  if (const char* spec = std::getenv("DEPLOYD_MODEL_FEATURES")) {
    std::string unknown = apply_features(spec, features);
    if (!unknown.empty()) FAIL("DEPLOYD_MODEL_FEATURES: unknown switch " << unknown);
  }
  return features;
}

std::string first_rule(const std::vector<std::string>& discrepancies) {
  return discrepancies.empty() ? "" : discrepancies.front().substr(0, discrepancies.front().find(':'));
}

std::vector<std::string> judge(const Case& c, const Checks& checks) { return check(c, observe(c), checks); }

/// The event lines of a run, for a failure report.
std::string event_lines(const Observation& seen) {
  testing::RecordingReporter reporter;
  for (const Event& event : seen.events) reporter.on(event);
  std::string text;
  for (const std::string& line : reporter.lines()) {
    if (line.rfind("stdout", 0) == 0 || line.rfind("stderr", 0) == 0) continue;
    text += "    " + line + "\n";
  }
  return text;
}

/// Everything needed to understand and replay a failing case.
std::string failure_report(const Case& c, const Checks& checks, const std::string& title) {
  Observation seen = observe(c);
  std::string text = title + "\n  case: " + to_text(c) + "\n  discrepancies:\n";
  for (const std::string& line : check(c, seen, checks)) text += "    " + line + "\n";
  for (const std::string& line : seen.refusal) text += "  refused: " + line + "\n";
  text += "  events:\n" + event_lines(seen);
  text += "  as a regression test:\n    check_case(R\"json(" + to_text(c) + ")json\");\n";
  return text;
}

/// A case that once failed, as printed by the random test: it must agree with the model now.
void check_case(std::string_view text) {
  Case c = case_from_text(text);
  Checks checks = features_in_force().checks;
  std::vector<std::string> discrepancies = judge(c, checks);
  if (!discrepancies.empty()) FAIL_CHECK(failure_report(c, checks, "regression case"));
}

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  if (std::string(value) == "random")
    return static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) % 1'000'000'000;
  return std::strtoull(value, nullptr, 10);
}

}  // namespace

TEST_SUITE("model") {
  TEST_CASE("random plans: the scheduler agrees with the reference model") {
    const Features features = features_in_force();
    const int cases = static_cast<int>(env_number("DEPLOYD_MODEL_CASES", kDefaultCases));
    const std::uint64_t seed = env_number("DEPLOYD_MODEL_SEED", kDefaultSeed);
    MESSAGE("model test: " << cases << " cases from DEPLOYD_MODEL_SEED=" << seed << "; features: "
                           << describe(features));
    const int printed = static_cast<int>(env_number("DEPLOYD_MODEL_PRINT", kPrintedFailures));
    int failing = 0;
    for (int i = 0; i < cases; ++i) {
      const std::uint64_t case_seed = seed + static_cast<std::uint64_t>(i);
      Case c = generate(case_seed, features);
      std::vector<std::string> discrepancies = judge(c, features.checks);
      if (discrepancies.empty()) continue;
      if (++failing > printed) continue;
      const std::string rule = first_rule(discrepancies);
      Case small = shrink(c, [&](const Case& candidate) { return first_rule(judge(candidate, features.checks)) == rule; });
      FAIL_CHECK(failure_report(small, features.checks,
                                "seed " + std::to_string(case_seed) + " fails (rerun: DEPLOYD_MODEL_SEED=" +
                                    std::to_string(case_seed) + " DEPLOYD_MODEL_CASES=1); shrunk from " +
                                    to_text(c)));
    }
    CHECK_MESSAGE(failing == 0, failing << " of " << cases << " cases disagree with the model");
  }
}

}  // namespace deployd::model
