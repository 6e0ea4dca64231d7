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
    case StepKind::Local:
    case StepKind::Put:
    case StepKind::Get:
      break;
  }
  if ((step.kind == StepKind::Put || step.kind == StepKind::Get) && step.sudo_user)
    out.push_back(not_yet(plan, step.json_pointer, "\"sudo\" on a \"put\" or \"get\" step"));
}

}  // namespace

std::vector<Diagnostic> unsupported_features(const Plan& plan, const std::vector<const Task*>& tasks) {
  std::vector<Diagnostic> out;
  for (const Task* task : tasks) {
    for (const Step& step : task->steps) check_step(plan, step, out);
  }
  return out;
}

}  // namespace deployd::engine
