// SPDX-License-Identifier: MIT
// The contract features still missing from the engine (see docs/plan-format.md, "Status").
#include "engine/capabilities.hpp"

namespace deployd::engine {
namespace {

Diagnostic not_yet(const Plan& plan, const std::string& pointer, const std::string& what) {
  return Diagnostic{plan.file, pointer, 0, 0, what + " is not supported by this version of deployd yet"};
}

void check_step(const Plan& plan, const Step& step, std::vector<Diagnostic>& out) {
  switch (step.kind) {
    case StepKind::Run:
      break;
    case StepKind::Local:
      out.push_back(not_yet(plan, step.json_pointer, "a \"local\" step"));
      break;
    case StepKind::Put:
      out.push_back(not_yet(plan, step.json_pointer, "a \"put\" step"));
      break;
    case StepKind::Get:
      out.push_back(not_yet(plan, step.json_pointer, "a \"get\" step"));
      break;
  }
  if (step.secret) out.push_back(not_yet(plan, step.json_pointer, "\"secret\""));
  if (step.retries.value_or(0) > 0) out.push_back(not_yet(plan, step.json_pointer, "\"retries\""));
}

}  // namespace

std::vector<Diagnostic> unsupported_features(const Plan& plan, const std::vector<const Task*>& tasks) {
  std::vector<Diagnostic> out;
  for (const Task* task : tasks) {
    if (task->is_local) out.push_back(not_yet(plan, task->json_pointer + "/on", "a local task"));
    if (task->run_once) out.push_back(not_yet(plan, task->json_pointer + "/run_once", "\"run_once\""));
    if (task->barrier) out.push_back(not_yet(plan, task->json_pointer + "/barrier", "\"barrier\""));
    for (const Step& step : task->steps) check_step(plan, step, out);
  }
  for (const Host& host : plan.hosts)
    if (!host.via.empty()) out.push_back(not_yet(plan, host.json_pointer, "\"via\" (jump hosts)"));
  if (plan.policy.retries > 0) out.push_back(not_yet(plan, "/policy/retries", "\"retries\""));
  return out;
}

}  // namespace deployd::engine
