// SPDX-License-Identifier: MIT
// resolve_groups: group members to hosts (depth first, with cycle detection), and group vars.
#include <fmt/format.h>

#include <algorithm>

#include "plan/groups.hpp"
#include "plan/suggest.hpp"

namespace deployd::plan {

namespace {

class GroupResolver {
 public:
  GroupResolver(Plan& plan, Diagnostics& diags) : plan_(plan), diags_(diags), index_(plan.hosts) {}

  void run(const std::vector<HostDraft>& hosts, const std::vector<GroupDraft>& groups) {
    for (const GroupDraft& group : groups) define(group);
    for (const HostDraft& host : hosts)
      for (const NameRef& ref : host.groups) join(host.name, ref);
    candidates_ = index_.names();
    candidates_.insert(candidates_.end(), order_.begin(), order_.end());
    for (const std::string& group : order_) resolve(group);
    publish();
  }

 private:
  enum class State { Unvisited, Visiting, Done };

  struct Group {
    const GroupDraft* draft = nullptr;  ///< null for groups only named by hosts' `groups`
    std::vector<char> members;          ///< by host position
    State state = State::Unvisited;
  };

  // Adds a group of `groups`; it may not be defined twice (e.g. in the plan and an inventory).
  void define(const GroupDraft& draft) {
    if (index_.find(draft.name)) {
      diags_.error(draft.where,
                   fmt::format("group {} has the same name as a host", quote(draft.name)));
    } else if (auto found = groups_.find(draft.name); found != groups_.end()) {
      diags_.error(draft.where, fmt::format("group {} is already defined {}", quote(draft.name),
                                            found->second.draft->where.describe(draft.where.doc)));
    } else {
      groups_[draft.name] =
          Group{&draft, std::vector<char>(index_.names().size()), State::Unvisited};
      order_.push_back(draft.name);
    }
  }

  // A host object's `"groups": [...]` puts the host in those groups, defined or not.
  void join(const std::string& host, const NameRef& ref) {
    if (ref.name == "all" || ref.name == "local" || index_.find(ref.name)) {
      std::string why = index_.find(ref.name) ? "it is the name of a host" : "it is reserved";
      diags_.error(ref.where, fmt::format("cannot join group {}: {}", quote(ref.name), why));
      return;
    }
    auto [group, is_new] = groups_.try_emplace(ref.name);
    if (is_new) {
      group->second.members.resize(index_.names().size());
      order_.push_back(ref.name);
    }
    if (auto position = index_.find(host)) group->second.members[*position] = 1;
  }

  void resolve(const std::string& name) {
    Group& group = groups_.at(name);
    if (group.state != State::Unvisited || !group.draft) return;
    group.state = State::Visiting;
    path_.push_back(name);
    for (const NameRef& member : group.draft->members) add_member(group, member);
    path_.pop_back();
    group.state = State::Done;
  }

  void add_member(Group& group, const NameRef& member) {
    if (member.name == "all") {
      std::fill(group.members.begin(), group.members.end(), 1);
      return;
    }
    auto nested = groups_.find(member.name);
    if (nested == groups_.end()) {
      auto positions = resolve_hosts_named(member.name, member.where, index_, candidates_, diags_);
      for (std::size_t position : positions.value_or(std::vector<std::size_t>{}))
        group.members[position] = 1;
      return;
    }
    if (nested->second.state == State::Visiting) {
      report_cycle(member);
      return;
    }
    resolve(member.name);
    for (std::size_t i = 0; i < group.members.size(); ++i)
      group.members[i] |= nested->second.members[i];
  }

  void report_cycle(const NameRef& member) {
    auto start = std::find(path_.begin(), path_.end(), member.name);
    std::string cycle;
    for (auto it = start; it != path_.end(); ++it) cycle += *it + " -> ";
    diags_.error(member.where, "group cycle: " + cycle + member.name);
  }

  // Writes plan.groups, each host's groups (plan order) and its groups' vars beneath its own.
  void publish() {
    std::vector<std::string>& all = plan_.groups["all"];
    for (const Host& host : plan_.hosts) all.push_back(host.name);
    for (const std::string& name : order_) {
      const Group& group = groups_.at(name);
      std::vector<std::string>& members = plan_.groups[name];
      for (std::size_t i = 0; i < group.members.size(); ++i) {
        if (!group.members[i]) continue;
        Host& host = plan_.hosts[i];
        members.push_back(host.name);
        host.groups.push_back(name);
        if (group.draft) host.vars.insert(group.draft->vars.begin(), group.draft->vars.end());
      }
    }
  }

  Plan& plan_;
  Diagnostics& diags_;
  HostIndex index_;
  std::unordered_map<std::string, Group> groups_;
  std::vector<std::string> order_;       ///< groups in plan order
  std::vector<std::string> candidates_;  ///< host and group names, for suggestions
  std::vector<std::string> path_;        ///< groups being resolved, outermost first
};

}  // namespace

void resolve_groups(const std::vector<HostDraft>& hosts, const std::vector<GroupDraft>& groups,
                    Plan& plan, Diagnostics& diags) {
  GroupResolver(plan, diags).run(hosts, groups);
}

}  // namespace deployd::plan
