// SPDX-License-Identifier: MIT
// What each file says before files are merged and names resolved: the loader's working types.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "deployd/plan.hpp"
#include "plan/document.hpp"

namespace deployd::plan {

/// Connection keys as one level writes them; unset members fall through to the next level.
struct ConnectionDraft {
  std::optional<std::string> user;
  std::optional<int> port;
  std::optional<std::vector<std::string>> identities;
  std::optional<std::string> password_env;
  std::optional<std::string> passphrase_env;
  std::optional<std::string> known_hosts;
  std::optional<HostKeyCheck> host_key_check;
  std::optional<Duration> connect_timeout;
  std::optional<Duration> keepalive;
  std::optional<std::vector<std::string>> via;
  std::optional<std::string> ssh_config;  ///< a path; "" for `false`
  Where ssh_config_at;                     ///< where `ssh_config` is written, if it is

  /// Overrides every member with the ones `higher` sets (key by key, `higher` wins).
  void merge(const ConnectionDraft& higher);
};

/// A name that refers to something else (a group member, a host's group) and where it is written.
struct NameRef {
  std::string name;
  Where where;
};

/// One host after range expansion, before defaults apply.
struct HostDraft {
  std::string name;
  std::optional<std::string> address;
  ConnectionDraft connection;   ///< `user@name:port`, overridden by the object's keys
  std::vector<NameRef> groups;  ///< the object's `groups`
  Vars vars;
  Where where;
};

/// One entry of `groups`.
struct GroupDraft {
  std::string name;
  std::vector<NameRef> members;  ///< host names, range patterns or group names
  Vars vars;
  Where where;
};

/// What one file (plan or inventory) contributes to the inventory part of the plan.
struct Sections {
  ConnectionDraft defaults;
  std::vector<HostDraft> hosts;
  std::vector<GroupDraft> groups;
  Vars vars;
  bool has_bad_hosts = false;  ///< an entry of `hosts` was rejected, so targets may be missing
};

/// A string of a step that is a template, or an expression (`when`), checked once every host
/// is known.
struct TemplateSite {
  Where where;
  std::string text;
  std::size_t step = 0;  ///< the first flattened step it applies to
  std::shared_ptr<const Expr> expr;  ///< set for an expression: its names are checked
  bool sees_result = false;          ///< changed_when, failed_when: rc, stdout, stderr are defined
  /// issue 18: a name a template file reads (`text` is the name): reported at its line:column
  /// in that file, `where` being the step's `template`.
  std::string file;
  int line = 0;
  int column = 0;
  bool may_be_undefined = false;  ///< inside `defined()` or before `default`: not checked
};

/// A `for_each` as read: the flattened steps [first, end) it repeats, and its list (a literal,
/// the name of a variable holding one, or an expression giving one), expanded per host once
/// the hosts and their vars are known.
struct LoopDraft {
  std::size_t first = 0;
  std::size_t end = 0;
  std::optional<Value> items;  ///< a list literal
  std::string var_name;       ///< else: the variable that holds the list
  std::shared_ptr<const Expr> expr;  ///< else: `{{ EXPR }}`
  std::string loop_var = "item";
  std::size_t depth = 0;  ///< the loops around it (a block's loop may repeat the same steps)
  Where where;  ///< the `for_each` value
};

/// A `notify` name as written.
struct NotifyDraft {
  std::size_t step = 0;  ///< the first flattened step it applies to
  std::string name;
  Where where;
};

/// A task as read, with the locations validation needs.
struct TaskDraft {
  Task task;
  Where where;
  std::vector<Where> need_at;  ///< where each of task.needs is written
  std::vector<Where> on_at;    ///< where each of task.on is written (the task itself if absent)
  std::vector<TemplateSite> templates;
  std::vector<NameRef> delegates;  ///< each `delegate_to` as written, checked once hosts are known
  std::vector<LoopDraft> loops;  ///< an inner loop (nested in a `cd` block's) before its outer one
  /// Per step once loops are expanded: the loop variables it sees (its own and outer loops').
  std::vector<std::vector<std::string>> loop_names;
  std::vector<NotifyDraft> notifies;
  std::vector<Where> notified_at;  ///< where each of task.notified_by notifies it
};

}  // namespace deployd::plan
