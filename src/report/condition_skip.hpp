// SPDX-License-Identifier: MIT
// A step that its `when` skipped (plan-format.md, "Conditions"): shown in output, unlike the
// steps a failure or a stop skipped (the failure or the stop says so for them).
#pragma once

#include <string>
#include <string_view>

#include "deployd/event.hpp"

namespace deployd::report {

/// The reason after `skipped: ` (`when "mode == 'full'" is false`), or empty for another skip.
inline std::string_view condition_skip_reason(const StepEnd& end) {
  if (end.status != StepStatus::Skipped) return {};
  constexpr std::string_view kMark = ": skipped: when \"";
  const std::size_t at = std::string_view(end.error).find(kMark);
  if (at == std::string_view::npos) return {};
  return std::string_view(end.error).substr(at + kMark.size() - 6);  // from `when "`
}

}  // namespace deployd::report
