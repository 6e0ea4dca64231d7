// SPDX-License-Identifier: MIT
// Groups: reading `groups`, resolving members (hosts, patterns, other groups) and group vars.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "plan/draft.hpp"

namespace deployd::plan {

/// Reads `groups`: name -> list of members, or {"hosts": [...], "vars": {...}}.
std::vector<GroupDraft> read_groups(const Node& node, Diagnostics& diags);

/// Host names by position in the plan, for fast lookups while resolving names.
class HostIndex {
 public:
  explicit HostIndex(const std::vector<Host>& hosts);
  /// The host's position in the plan, if there is such a host.
  std::optional<std::size_t> find(const std::string& name) const;
  const std::vector<std::string>& names() const { return names_; }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, std::size_t> positions_;
};

/// Fills `plan.groups` (with `all`), each host's `groups` and, beneath its own vars, its groups'
/// vars (the first group in plan order wins); reports unknown members, name clashes and cycles.
void resolve_groups(const std::vector<HostDraft>& hosts, const std::vector<GroupDraft>& groups,
                    Plan& plan, Diagnostics& diags);

/// The host positions `name` stands for: a host, or a pattern of hosts such as `web[01:03]`;
/// reports a name that is neither, suggesting one of `candidates`.
std::optional<std::vector<std::size_t>> resolve_hosts_named(
    const std::string& name, const Where& at, const HostIndex& index,
    const std::vector<std::string>& candidates, Diagnostics& diags);

}  // namespace deployd::plan
