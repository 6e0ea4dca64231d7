// SPDX-License-Identifier: MIT
// Policy keys (plan-format.md, "Policy"): limits, rolling batches and the failure policy.
#include "plan/policy_reader.hpp"

#include "plan/fields.hpp"
#include "plan/hosts_reader.hpp"

namespace deployd::plan {

namespace {

std::optional<OnFailure> read_on_failure(const Node& node, Diagnostics& diags) {
  auto choice = read_choice(node, {"stop-host", "abort"}, diags);
  if (!choice) return std::nullopt;
  return *choice == "abort" ? OnFailure::Abort : OnFailure::StopHost;
}

std::optional<std::vector<Amount>> read_batches(const Node& node, Diagnostics& diags) {
  if (!node.value().is_array() || node.value().empty()) {
    diags.error(node.where,
                expected_but_got("a non-empty list of counts and percentages", node.value()));
    return std::nullopt;
  }
  std::vector<Amount> batches;
  for (std::size_t i = 0; i < node.value().size(); ++i) {
    auto amount = read_amount(node.item(i), diags, 1);
    if (!amount) return std::nullopt;
    batches.push_back(*amount);
  }
  return batches;
}

// Reads the keys a task's policy may override; the plan's policy has them too.
TaskPolicy read_overrides(const Node& node, Diagnostics& diags) {
  TaskPolicy policy;
  if (auto key = node.find("max_failures")) policy.max_failures = read_amount(*key, diags, 0);
  if (auto key = node.find("on_failure")) policy.on_failure = read_on_failure(*key, diags);
  if (auto key = node.find("retries")) policy.retries = read_int(*key, diags, 0);
  if (auto key = node.find("retry_delay")) policy.retry_delay = read_duration(*key, diags);
  if (auto key = node.find("timeout")) policy.timeout = read_timeout(*key, diags);
  return policy;
}

}  // namespace

std::optional<Duration> read_timeout(const Node& node, Diagnostics& diags) {
  auto duration = read_duration(node, diags);
  if (duration && duration->count() == 0) {
    diags.error(node.where, "a timeout must be longer than 0s");
    return std::nullopt;
  }
  return duration;
}

Policy read_policy(const Node& node, Diagnostics& diags) {
  Policy policy;
  if (!expect_object(node, diags)) return policy;
  check_keys(node,
             {"forks", "max_connecting", "batches", "max_failures", "on_failure", "retries",
              "retry_delay", "timeout", "abort_grace", "connect_retries", "connect_retry_delay"},
             diags);
  if (auto key = node.find("forks")) policy.forks = read_int(*key, diags, 1).value_or(policy.forks);
  if (auto key = node.find("max_connecting"))
    policy.max_connecting = read_int(*key, diags, 1).value_or(policy.max_connecting);
  if (auto key = node.find("batches"))
    policy.batches = read_batches(*key, diags).value_or(policy.batches);
  if (auto key = node.find("abort_grace"))
    policy.abort_grace = read_duration(*key, diags).value_or(policy.abort_grace);
  if (auto key = node.find("connect_retries"))
    policy.connect_retries = read_int(*key, diags, 0).value_or(policy.connect_retries);
  if (auto key = node.find("connect_retry_delay"))
    policy.connect_retry_delay = read_duration(*key, diags).value_or(policy.connect_retry_delay);
  TaskPolicy overrides = read_overrides(node, diags);
  policy.max_failures = overrides.max_failures.value_or(policy.max_failures);
  policy.on_failure = overrides.on_failure.value_or(policy.on_failure);
  policy.retries = overrides.retries.value_or(policy.retries);
  policy.retry_delay = overrides.retry_delay.value_or(policy.retry_delay);
  if (overrides.timeout) policy.timeout = overrides.timeout;
  return policy;
}

TaskPolicy read_task_policy(const Node& node, Diagnostics& diags) {
  if (!expect_object(node, diags)) return {};
  check_keys(
      node,
      {"max_failures", "on_failure", "retries", "retry_delay", "timeout", "serial", "batches"},
      diags);
  TaskPolicy policy = read_overrides(node, diags);
  // Rolling within one task (issue 18): the rest of the plan keeps its width.
  if (auto key = node.find("serial")) policy.serial = read_amount(*key, diags, 1);
  if (auto key = node.find("batches"))
    policy.batches = read_batches(*key, diags).value_or(policy.batches);
  return policy;
}

}  // namespace deployd::plan
