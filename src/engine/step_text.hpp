// SPDX-License-Identifier: MIT
// How steps are named in events and messages, and reporting helpers shared by every step kind.
#pragma once

#include <string>

#include "base/secret_mask.hpp"
#include "deployd/plan.hpp"
#include "deployd/reporter.hpp"

namespace deployd::engine {

/// Reports `body` (any event type) with the current time.
template <typename Body>
void emit(Reporter& reporter, Body body) {
  reporter.on(Event{Clock::now(), std::move(body)});
}

/// The first line of `text`, shortened to `max` characters with "..." when longer.
std::string first_line(const std::string& text, std::size_t max);

/// `deploy step 3 (run "tar xzf x")`, counting steps from 1 as people do; a secret or no_log
/// step's command is never shown.
std::string step_title(const Task& task, int index, const Step& step);
/// The same with the step's name and command as resolved for one host (what it ran).
std::string step_title(const Task& task, int index, const Step& step, const std::string& name,
                       const std::string& command);

/// A command resolved for `host`, as step_title may take it: masked first, since a title cuts
/// it and a secret line cut short is no longer found by the mask; while `secrets` is still
/// building (a huge value), the plan's text `written` instead.
std::string shown_command(const base::SecretMask& secrets, const std::string& host,
                          const std::string& resolved, const std::string& written);

/// What stands for a hidden step's command: `<secret>` or `<no_log>` (the key that hid it).
const char* hidden_label(const Step& step);

/// How a step is labelled in events: its `name`, else its command's first line.
std::string step_label(const Step& step);

}  // namespace deployd::engine
