// SPDX-License-Identifier: MIT
// The validated plan: hosts, groups, vars, tasks and policy, as plain value types.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deployd {

/// A length of time as the plan gives it (`250ms`, `30s`, `5m`, `1h`, or seconds).
using Duration = std::chrono::milliseconds;

/// How the server's host key is checked against known_hosts (plan-format.md, connection keys).
enum class HostKeyCheck { Strict, AcceptNew, Off };

/// An ordered map of names to texts: environment variables, `--var`s, registered values.
using VarMap = std::map<std::string, std::string>;

/// A variable's value as the plan writes it: a text (JSON scalars as their text, `3`, `true`),
/// a list or an object. Texts are templates, resolved per host when used.
struct Value {
  enum class Kind { Text, List, Object };
  Kind kind = Kind::Text;
  std::string text;               ///< Text: the string as written
  std::vector<Value> items;       ///< List: the items; Object: the fields' values
  std::vector<std::string> keys;  ///< Object: the field names, parallel to items, in plan order
  std::string defined_at;         ///< where a variable is defined (`plan.json /vars/root`)

  Value() = default;
  Value(std::string value) : text(std::move(value)) {}  // NOLINT: a text converts
  Value(const char* value) : text(value) {}             // NOLINT
  static Value list(std::vector<Value> items);
  static Value object(std::vector<std::string> keys, std::vector<Value> items);

  bool is_text() const { return kind == Kind::Text; }
  /// An object's field or a list's item (`0`, `1`...), or null.
  const Value* member(std::string_view key) const;
  /// Same kind and contents (where it is defined does not count).
  bool operator==(const Value& other) const;
  bool operator==(const std::string& other) const { return is_text() && text == other; }
  bool operator==(const char* other) const { return is_text() && text == other; }
};

/// The plan's variables: names to values.
using Vars = std::map<std::string, Value>;

namespace plan {
class Expr;
class TextTemplate;
}  // namespace plan

/// An expression of the plan (`when`, `changed_when`, `failed_when`), parsed at load.
struct Condition {
  std::string text;                        ///< as written, for messages
  std::shared_ptr<const plan::Expr> expr;  ///< never null in a loaded plan
};

/// A host after range expansion, with every connection key resolved (per host > defaults > built-in).
struct Host {
  std::string name;
  std::string address;  ///< what is dialled; the name unless the plan says otherwise
  int port = 22;
  std::string user;
  std::vector<std::string> identities;  ///< `~` expanded; empty: the agent, then the default keys
  std::string password_env;             ///< name of the environment variable, never the password
  std::string passphrase_env;
  std::string known_hosts;  ///< `~` expanded
  HostKeyCheck host_key_check = HostKeyCheck::Strict;
  Duration connect_timeout{10'000};
  Duration keepalive{15'000};
  std::vector<std::string> via;  ///< jump hosts, outermost first (or ssh_config ProxyJump)
  /// One per `via` entry, how to log in to it: a plan host's own keys; any other hop
  /// (`[user@]host[:port]`) resolved alone: its own ssh_config entry (in this host's ssh_config
  /// file), then the plan defaults, never this host's keys or any password_env. Their `via` and
  /// `vars` are empty.
  std::vector<Host> via_hosts;
  std::string ssh_config;  ///< ssh_config file to read, `~` expanded; empty: none (`false`)
  bool identities_only = false;  ///< ssh_config IdentitiesOnly: never the agent
  /// Where each connection value came from, by key (`user`, `address`, `port`, ...): "plan host",
  /// "plan defaults", "ssh_config FILE:LINE", "command line" or "default".
  std::map<std::string, std::string> sources;
  std::vector<std::string> groups;    ///< groups it belongs to, in the order the plan lists them
  Vars vars;
  std::string json_pointer;  ///< where the host is defined, e.g. `/hosts/3`
};

/// What a step does; a `cd` block is flattened into the steps it contains. A Template is a put
/// whose bytes are a local template file rendered for the host (issue 18).
enum class StepKind { Run, Local, Put, Get, Template };

/// One step after flattening: `cd` blocks have become each inner step's `cwd`.
/// Every string here is a template: `{{var}}` is replaced per host at run time.
struct Step {
  StepKind kind = StepKind::Run;
  /// run/local: the command; put: the local source; get: the remote path; template: the
  /// template file's path as written
  std::string command;
  std::string to;  ///< put/get/template destination
  /// template: the file, parsed at load (never null in a loaded plan's Template step)
  std::shared_ptr<const plan::TextTemplate> text_template;
  std::string template_file;              ///< template: the file read, joined with its folder
  std::optional<std::string> mode;        ///< put, get, template: octal file mode, e.g. "0644"
  std::optional<std::uint64_t> max_size;  ///< get: the largest file accepted, in bytes
  std::string owner;                      ///< put: the file's owner (chown), "" the writing user's
  std::string group;                      ///< put: the file's group (chgrp), "" the writing user's
  bool recursive = false;                 ///< put, get: a folder and everything in it (issue 18)
  std::string name;                 ///< label in output; empty: derived from the command
  std::string cwd;                  ///< joined `cd` directories; empty: the login directory
  /// The folder relative local paths (put sources, get targets, local steps) start from: the
  /// folder of the file the step is written in when it was imported; empty: the plan's folder.
  std::string directory;
  std::optional<std::string> sudo_user;  ///< set: run via sudo; "" means sudo's default (root)
  /// `delegate_to`: the plan host that runs this step on behalf of the task's host ("local": the
  /// controller, and the step is a Local one); empty: the task's host itself.
  std::string delegate_to;
  VarMap env;
  /// run/local: the shell's command line, the command text following it (`"shell"`); empty:
  /// `sh -c`.
  std::vector<std::string> shell;
  /// run/local: commands run before the command, each of which must succeed (`"prefix"` of
  /// the task and the enclosing `cd` blocks, outermost first).
  std::vector<std::string> prefixes;
  std::optional<Duration> timeout;
  std::optional<int> retries;
  std::optional<Duration> retry_delay;
  bool ignore_errors = false;
  bool secret = false;  ///< hidden (as no_log), and what it registers is masked as a secret
  bool no_log = false;  ///< command and output hidden; what it registers is an ordinary value
  std::string register_as;   ///< variable that receives stdout; empty: none
  /// `when` of the enclosing `cd` blocks, outer first, then the step's own: all must hold.
  std::vector<Condition> when;
  std::optional<Condition> changed_when;  ///< on the step's own rc, stdout, stderr
  std::optional<Condition> failed_when;
  /// run: skipped when this remote path exists (`creates`) or does not (`removes`); Ansible's
  /// command keys. Templates, relative to `cwd`.
  std::optional<std::string> creates;
  std::optional<std::string> removes;
  /// Handler tasks this step notifies on its host when it changed it (`notify`).
  std::vector<std::string> notify;
  /// `for_each`: the loop variables of this copy of the step (`item`, holding the item's value:
  /// `{{item.name}}` is a path into it; an outer loop's too), looked up before every other
  /// variable, and how output names the items (`site=shop`, `site=shop, item=a`).
  Vars loop_vars;
  std::string item_label;
  /// Why this copy is skipped (`empty for_each`); empty: it runs.
  std::string loop_skip;
  /// A copy whose items differ per host (a list in host or group vars): each host's loop
  /// variables, label and skip, which Task::on_host puts in the fields above. Null: the same on
  /// every host.
  struct HostItem {
    Vars loop_vars;
    std::string item_label;
    std::string loop_skip;
  };
  std::shared_ptr<const std::map<std::string, HostItem>> host_items;
  std::string json_pointer;  ///< e.g. `/tasks/deploy/steps/2/steps/0`

  /// `secret` or `no_log`: the command (or paths) and the output never appear.
  bool hides_command() const { return secret || no_log; }
};

/// An amount that is either a count or a percentage of the targeted hosts.
struct Amount {
  int value = 0;
  bool is_percent = false;
  /// The count this amount means for `total` hosts (percentages round up, at least 1 if >0%).
  int of(int total) const;
};

enum class OnFailure { StopHost, Abort };

/// Run policy: the plan's `policy`, with the contract's defaults.
struct Policy {
  int forks = 256;
  int max_connecting = 64;
  std::vector<Amount> batches;  ///< empty: one wave of all hosts
  Amount max_failures{100, true};
  OnFailure on_failure = OnFailure::StopHost;
  int retries = 0;
  Duration retry_delay{1000};
  std::optional<Duration> timeout;
  /// After an abort or a first interrupt, how long running steps have before they are cancelled.
  Duration abort_grace{10'000};
  /// Retries of a connection that failed for a transient reason (refused, reset, timed out),
  /// the first after connect_retry_delay, then twice as long each time.
  int connect_retries = 2;
  Duration connect_retry_delay{1000};
};

/// A task's `policy` overrides; unset members inherit the plan's policy.
struct TaskPolicy {
  std::optional<Amount> max_failures;
  std::optional<OnFailure> on_failure;
  std::optional<int> retries;
  std::optional<Duration> retry_delay;
  std::optional<Duration> timeout;
  /// At most this many of the task's hosts inside the task at once (a percentage of them).
  std::optional<Amount> serial;
  /// The task's own rolling waves over its hosts: a wave starts it when the one before has
  /// ended it everywhere. Empty: no waves of its own.
  std::vector<Amount> batches;
};

/// A named list of steps run on a set of hosts (or once, locally).
struct Task {
  std::string name;
  std::string description;
  std::vector<std::string> needs;
  bool is_local = false;        ///< `"on": "local"`
  std::vector<std::string> on;  ///< groups and hosts as written; `["all"]` by default
  std::vector<std::string> hosts;  ///< `on` resolved to host names, in plan order
  bool run_once = false;
  bool barrier = false;
  bool is_default = false;
  /// `handler`: runs on a host only when a step notified it there (plan-format.md, "Handlers").
  bool is_handler = false;
  /// A handler's notifiers: the tasks with a step that notifies it, in plan order.
  std::vector<std::string> notified_by;
  TaskPolicy policy;
  std::optional<Condition> when;  ///< false on a host: the whole task is skipped there
  std::vector<Step> steps;   ///< flattened; a step's index here is its index in events
  std::string json_pointer;  ///< `/tasks/NAME`

  /// The task as `host` runs it: each `for_each` copy with that host's item (a list in host or
  /// group vars gives each host its own items; the steps are the same on every host).
  Task on_host(const std::string& host) const;
  bool has_host_items() const;  ///< some copy's items differ per host: use on_host()
};

/// A whole validated plan. Built only by load_plan/parse_plan.
struct Plan {
  std::string file;       ///< path as given
  std::string directory;  ///< the plan file's folder, where local commands run
  std::string description;
  std::vector<Host> hosts;
  std::map<std::string, std::vector<std::string>> groups;  ///< group -> member host names
  Vars vars;
  VarMap overrides;  ///< `--var NAME=VALUE`: first in lookup order
  std::vector<Task> tasks;  ///< document order
  Policy policy;

  const Host* find_host(const std::string& name) const;
  const Task* find_task(const std::string& name) const;
};

}  // namespace deployd
