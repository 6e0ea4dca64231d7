// SPDX-License-Identifier: MIT
// Step names and titles for events and messages.
#include "engine/step_text.hpp"

#include <fmt/format.h>

namespace deployd::engine {
namespace {

const char* verb(StepKind kind) {
  switch (kind) {
    case StepKind::Run:
      return "run";
    case StepKind::Local:
      return "local";
    case StepKind::Put:
      return "put";
    case StepKind::Get:
      return "get";
    case StepKind::Template:
      return "template";
  }
  return "run";
}

}  // namespace

std::string first_line(const std::string& text, std::size_t max) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > max) line = line.substr(0, max - 3) + "...";
  return line;
}

std::string step_title(const Task& task, int index, const Step& step) {
  return step_title(task, index, step, step.name, step.command);
}

std::string step_title(const Task& task, int index, const Step& step, const std::string& name,
                       const std::string& command) {
  std::string what;
  if (!name.empty()) {
    what = fmt::format("\"{}\"", name);
  } else if (step.hides_command()) {
    what = fmt::format("{} {}", verb(step.kind), hidden_label(step));
  } else {
    what = fmt::format("{} \"{}\"", verb(step.kind), first_line(command, 60));
  }
  // plan-format.md, `for_each`: each copy names its item: `deploy step 3 [site=shop]`.
  const std::string item = step.item_label.empty() ? "" : " [" + step.item_label + "]";
  return fmt::format("{} step {}{} ({})", task.name, index + 1, item, what);
}

std::string shown_command(const base::SecretMask& secrets, const std::string& host,
                          const std::string& resolved, const std::string& written) {
  if (resolved == written) return resolved;
  return secrets.is_building() ? written : secrets.mask(resolved, host);
}

const char* hidden_label(const Step& step) { return step.secret ? "<secret>" : "<no_log>"; }

std::string step_label(const Step& step) {
  std::string label = !step.name.empty()     ? step.name
                      : step.hides_command() ? hidden_label(step)
                                             : first_line(step.command, 60);
  return step.item_label.empty() ? label : label + " [" + step.item_label + "]";
}

}  // namespace deployd::engine
