// SPDX-License-Identifier: MIT
// Ad-hoc commands (see ad_hoc.hpp; plan-format.md, "Ad-hoc commands").
#include "cli/ad_hoc.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "plan/duration.hpp"

namespace deployd::cli {
std::optional<std::vector<std::string>> take_command(std::vector<std::string>& args) {
  const auto dashes = std::find(args.begin(), args.end(), "--");
  if (dashes == args.end()) return std::nullopt;
  std::vector<std::string> command(dashes + 1, args.end());
  args.erase(dashes, args.end());
  return command;
}

std::string join_command(const std::vector<std::string>& words) {
  std::string command;
  for (const std::string& word : words) command += (command.empty() ? "" : " ") + word;
  if (command.find_first_not_of(" \t\n") == std::string::npos) return {};
  return command;
}

std::optional<std::string> ad_hoc_plan_text(const report::AdHocRecord& command) {
  nlohmann::json step = {{"run", command.command}};
  if (command.sudo) step["sudo"] = true;
  if (!command.timeout.empty()) step["timeout"] = command.timeout;
  nlohmann::json task = {{"steps", nlohmann::json::array({step})}};
  nlohmann::json plan = {{"tasks", {{std::string(kAdHocTask), task}}}};
  try {
    return plan.dump();
  } catch (const nlohmann::json::type_error&) {  // not UTF-8
    return std::nullopt;
  }
}

LoadResult load_ad_hoc(const report::AdHocRecord& command, const LoadOptions& options) {
  LoadResult result;
  if (options.hosts.empty() && options.inventories.empty()) {
    result.errors.push_back(Diagnostic{
        .message =
            "an ad-hoc command needs hosts: -H HOSTS, or -i INVENTORY (or DEPLOYD_INVENTORY)"});
    return result;
  }
  std::optional<std::string> text = ad_hoc_plan_text(command);
  if (!text) {
    result.errors.push_back(Diagnostic{.message = "the command after -- is not UTF-8"});
    return result;
  }
  result = parse_plan(*text, std::string(kAdHocFile), options);
  for (Diagnostic& error : result.errors)
    if (error.file == kAdHocFile)
      error = Diagnostic{.message = "the command after --: " + error.message};
  return result;
}

std::string check_ad_hoc_options(bool is_ad_hoc, bool sudo, const std::string& timeout) {
  if (!is_ad_hoc && (sudo || !timeout.empty()))
    return std::string(sudo ? "--sudo" : "--timeout") +
           " applies to an ad-hoc command (deployd -H HOSTS -- COMMAND); a plan's steps set "
           "\"sudo\" and \"timeout\" themselves";
  if (!timeout.empty() && !plan::parse_duration(timeout))
    return "--timeout: \"" + timeout + "\" is not a duration (like 30s, 250ms, 5m or 1h)";
  return {};
}

}  // namespace deployd::cli
