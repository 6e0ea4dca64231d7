// SPDX-License-Identifier: MIT
// Conditions at run time: the parsed expressions of the plan, evaluated on one host.
#include "plan/conditions.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "plan/expr.hpp"
#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

// The value of one condition, or an error naming it.
std::optional<bool> holds(const Condition& condition, VarScope& scope, std::string_view key,
                          std::string& error, std::string* missing = nullptr) {
  Evaluated value = condition.expr->evaluate(scope);
  if (!value.error.empty()) {
    if (missing) *missing = value.missing;
    error = fmt::format("{} {}: {}", key, quote(condition.text),
                        value.missing.empty() ? value.error
                                              : fmt::format("variable {} has no value on this host",
                                                            quote(value.missing)));
    return std::nullopt;
  }
  return is_true(value.value);
}

}  // namespace

bool decides_after_failure(const std::vector<Condition>& when) {
  return std::any_of(when.begin(), when.end(),
                     [](const Condition& condition) { return condition.expr->uses_status(); });
}

WhenVerdict check_when(const std::vector<Condition>& when, const VarContext& vars,
                       bool host_failed) {
  WhenVerdict verdict;
  if (host_failed && !decides_after_failure(when)) {
    verdict.runs = false;
    verdict.reason = "an earlier step failed";
    return verdict;
  }
  VarScope scope(vars);
  scope.host_failed = host_failed;
  for (const Condition& condition : when) {
    std::optional<bool> value = holds(condition, scope, "when", verdict.error, &verdict.missing);
    if (!value) {
      verdict.runs = false;
      return verdict;
    }
    if (!*value) {
      verdict.runs = false;
      verdict.reason = fmt::format("when {} is false", quote(condition.text));
      return verdict;
    }
  }
  return verdict;
}

ResultVerdict check_result(const Step& step, const VarContext& vars, const CommandResult& result) {
  ResultVerdict verdict;
  if (!step.changed_when && !step.failed_when) return verdict;
  // The step's own result comes first: `rc`, `stdout`, `stderr` (as Ansible's result.rc).
  const VarMap locals = {{"rc", std::to_string(result.rc)},
                         {"stdout", result.stdout_text},
                         {"stderr", result.stderr_text}};
  VarScope scope(vars);
  scope.set_locals(&locals);
  if (step.failed_when)
    verdict.failed = holds(*step.failed_when, scope, "failed_when", verdict.error);
  if (step.changed_when && verdict.error.empty())
    verdict.changed = holds(*step.changed_when, scope, "changed_when", verdict.error);
  return verdict;
}

void register_fields(VarMap& registered, const std::string& name, const CommandResult& result,
                     bool changed, bool failed) {
  registered[name + ".rc"] = std::to_string(result.rc);
  registered[name + ".stdout"] = result.stdout_text;
  registered[name + ".stderr"] = result.stderr_text;
  registered[name + ".changed"] = changed ? "true" : "false";
  registered[name + ".skipped"] = "false";
  registered[name + ".failed"] = failed ? "true" : "false";
}

void register_skipped(VarMap& registered, const std::string& name) {
  registered[name] = "";
  for (const std::string& field : registered_fields()) registered[name + "." + field] = "";
  registered[name + ".changed"] = "false";
  registered[name + ".skipped"] = "true";
  registered[name + ".failed"] = "false";
}

const std::vector<std::string>& registered_fields() {
  static const std::vector<std::string> fields = {"rc",      "stdout",  "stderr",
                                                  "changed", "skipped", "failed"};
  return fields;
}

}  // namespace deployd::plan
