// SPDX-License-Identifier: MIT
// Group membership: members are hosts, range patterns or other groups; `all` is implicit.
#include "plan/groups.hpp"

#include <fmt/format.h>

#include "plan/fields.hpp"
#include "plan/host_pattern.hpp"
#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

// Why `name` cannot name a group, or empty if it can.
std::string bad_group_name(const std::string& name) {
  if (name == "all") return "\"all\" is a built-in group: it holds every host";
  if (name == "local") return "\"local\" is reserved for tasks run on the controller";
  if (!is_valid_name(name))
    return fmt::format("bad group name {} (use letters, digits, \".\", \"-\" and \"_\")",
                       quote(name));
  return "";
}

void read_members(const Node& list, GroupDraft& draft, Diagnostics& diags) {
  if (!expect_list(list, diags)) return;
  for (std::size_t i = 0; i < list.value().size(); ++i) {
    Node item = list.item(i);
    if (auto name = read_string(item, diags)) draft.members.push_back({*name, item.where});
  }
}

}  // namespace

std::vector<GroupDraft> read_groups(const Node& node, Diagnostics& diags) {
  std::vector<GroupDraft> groups;
  if (!expect_object(node, diags)) return groups;
  for (const auto& [name, value] : node.value().items()) {
    Node group = node.child(name);
    if (std::string error = bad_group_name(name); !error.empty()) {
      diags.key_error(node.where, name, error);
      continue;
    }
    GroupDraft draft{name, {}, {}, group.where};
    if (value.is_object()) {
      check_keys(group, {"hosts", "vars"}, diags);
      if (auto vars = group.find("vars")) draft.vars = read_vars(*vars, diags);
      if (auto members = group.find("hosts"))
        read_members(*members, draft, diags);
      else
        diags.error(group.where, "missing required key \"hosts\"");
    } else if (value.is_array()) {
      read_members(group, draft, diags);
    } else {
      diags.error(group.where, expected_but_got("a list of hosts and groups, or an object", value));
    }
    groups.push_back(std::move(draft));
  }
  return groups;
}

HostIndex::HostIndex(const std::vector<Host>& hosts) {
  for (const Host& host : hosts) {
    positions_.emplace(host.name, names_.size());
    names_.push_back(host.name);
  }
}

std::optional<std::size_t> HostIndex::find(const std::string& name) const {
  auto found = positions_.find(name);
  if (found == positions_.end()) return std::nullopt;
  return found->second;
}

std::optional<std::vector<std::size_t>> resolve_hosts_named(
    const std::string& name, const Where& at, const HostIndex& index,
    const std::vector<std::string>& candidates, Diagnostics& diags) {
  if (auto position = index.find(name)) return std::vector<std::size_t>{*position};
  if (!has_range(name)) {
    diags.error(
        at, fmt::format("unknown host or group {}{}", quote(name), did_you_mean(name, candidates)));
    return std::nullopt;
  }
  Expansion expansion = expand_host_pattern(name);
  if (!expansion.error.empty()) {
    diags.error(at, expansion.error);
    return std::nullopt;
  }
  std::vector<std::size_t> positions;
  for (const std::string& host : expansion.names) {
    auto position = index.find(host);
    if (!position) {
      diags.error(at, fmt::format("unknown host {} (from {})", quote(host), quote(name)));
      return std::nullopt;
    }
    positions.push_back(*position);
  }
  return positions;
}

}  // namespace deployd::plan
