// SPDX-License-Identifier: MIT
// --retry-failed's optional value (see retry_args.hpp).
#include "cli/retry_args.hpp"

#include <string_view>

namespace deployd::cli {
namespace {

constexpr std::string_view kFlag = "--retry-failed";

// A run id, or a mistyped one: 8 digits and a T (`20261128T…`). A plan is never named so, and a
// typo must reach the run lookup, which suggests the run meant, rather than be read as PLAN.
bool looks_like_run_id(std::string_view text) {
  constexpr std::size_t kDate = 8;
  if (text.size() <= kDate || text[kDate] != 'T') return false;
  for (std::size_t i = 0; i < kDate; ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  return true;
}

}  // namespace

RetryArgs take_retry_args(std::vector<std::string> args) {
  RetryArgs result;
  if (!args.empty()) result.args.push_back(args[0]);
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {  // what follows is positional, whatever it looks like
      result.args.insert(result.args.end(), args.begin() + static_cast<std::ptrdiff_t>(i),
                         args.end());
      break;
    }
    const bool with_value = arg.starts_with(std::string(kFlag) + "=");
    if (arg != kFlag && !with_value) {
      result.args.push_back(arg);
      continue;
    }
    if (result.retry) {
      result.error = "--retry-failed: given more than once";
      return result;
    }
    result.retry = true;
    result.args.push_back(std::string(kFlag));
    if (with_value) {
      result.run_id = arg.substr(kFlag.size() + 1);
      if (!looks_like_run_id(result.run_id)) {
        result.error = "--retry-failed: \"" + result.run_id +
                       "\" is not a run id (like 20261128T134235Z-a1b2c3)";
        return result;
      }
    } else if (i + 1 < args.size() && looks_like_run_id(args[i + 1])) {
      result.run_id = args[++i];
    }
  }
  return result;
}

}  // namespace deployd::cli
