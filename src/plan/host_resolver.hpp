// SPDX-License-Identifier: MIT
// From host drafts to Hosts: connection keys resolved per host, `~` expanded, duplicates found.
#pragma once

#include <string>
#include <vector>

#include "deployd/load.hpp"
#include "plan/draft.hpp"

namespace deployd::plan {

/// Who runs deployd: the default login user and the home directory `~` stands for.
struct Controller {
  std::string user;
  std::string home;
};

/// The options' user and home, else $USER and $HOME, else the password database.
Controller controller_of(const LoadOptions& options);

/// `path` with a leading `~` or `~/` replaced by `home`.
std::string expand_home(const std::string& path, const std::string& home);

/// Hosts with every connection key resolved: host keys > `user@name:port` > defaults > built-in.
/// A duplicate name or a reserved one (`all`, `local`) is reported and left out.
std::vector<Host> resolve_hosts(const std::vector<HostDraft>& drafts,
                                const ConnectionDraft& defaults, const Controller& controller,
                                Diagnostics& diags);

/// The hosts `-H` names, in order: plan hosts by name, and new hosts (added to `plan.hosts`,
/// with the defaults) for names the plan does not define; errors name the `-H` value.
std::vector<std::string> command_line_hosts(const std::vector<std::string>& specs,
                                            const ConnectionDraft& defaults,
                                            const Controller& controller, Plan& plan,
                                            Diagnostics& diags);

}  // namespace deployd::plan
