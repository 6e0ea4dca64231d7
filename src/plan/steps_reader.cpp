// SPDX-License-Identifier: MIT
// Steps (plan-format.md, "Steps"): one action each; `cd` blocks flatten into their inner steps.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <map>

#include "plan/fields.hpp"
#include "plan/policy_reader.hpp"
#include "plan/shell_reader.hpp"
#include "plan/suggest.hpp"
#include "plan/tasks_reader.hpp"
#include "plan/vars.hpp"

namespace deployd::plan {

namespace {

const std::vector<std::string> kActions = {"run", "local", "put", "get", "template", "cd"};
const std::vector<std::string> kStepKeys = {
    "run",      "local",    "put",          "get",           "template",  "cd",
    "to",       "mode",     "steps",        "name",          "sudo",      "env",
    "timeout",  "retries",  "retry_delay",  "ignore_errors", "secret",    "no_log",
    "register", "max_size", "owner",        "group",         "recursive", "delegate_to",
    "creates",  "removes",  "notify",       "for_each",      "loop_var",  "shell",
    "prefix",   "when",     "changed_when", "failed_when",
};

// Deep enough for any real plan; a cap keeps recursion on user input bounded.
constexpr int kMaxCdDepth = 16;

// `inner` run inside `outer`: relative paths join onto the outer one, like Fabric's `with cd()`.
std::string join_cwd(const std::string& outer, const std::string& inner) {
  if (outer.empty() || inner.starts_with('/') || inner.starts_with('~')) return inner;
  return outer.ends_with('/') ? outer + inner : outer + "/" + inner;
}

bool is_octal_mode(const std::string& mode) {
  return (mode.size() == 3 || mode.size() == 4) &&
         mode.find_first_not_of("01234567") == std::string::npos;
}

// `max_size`: a count of bytes, as a JSON number or a string with an optional K, M, G or T
// suffix (powers of 1024): "100M".
std::optional<std::uint64_t> parse_byte_size(const Json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (!value.is_string()) return std::nullopt;
  const std::string text = value.get<std::string>();
  std::size_t digits = 0;
  std::uint64_t number = 0;
  for (; digits < text.size() && text[digits] >= '0' && text[digits] <= '9'; ++digits) {
    if (number > (UINT64_MAX - 9) / 10) return std::nullopt;
    number = number * 10 + static_cast<std::uint64_t>(text[digits] - '0');
  }
  if (digits == 0) return std::nullopt;
  const std::string suffix = text.substr(digits);
  static const std::map<std::string, int> kShifts = {{"", 0}, {"K", 10}, {"M", 20}, {"G", 30}, {"T", 40}};
  const auto shift = kShifts.find(suffix);
  if (shift == kShifts.end() || number > (UINT64_MAX >> shift->second)) return std::nullopt;
  return number << shift->second;
}

class StepReader {
 public:
  StepReader(TaskDraft& task, Diagnostics& diags) : task_(task), diags_(diags) {}

  void read_list(const Node& list, const Step& inherited, int depth) {
    if (!list.value().is_array()) {
      diags_.error(list.where, expected_but_got("a list of steps", list.value()));
      return;
    }
    if (list.value().empty()) {
      diags_.error(list.where, depth == 0 ? "a task needs at least one step"
                                          : "a \"cd\" block needs at least one step");
      return;
    }
    for (std::size_t i = 0; i < list.value().size(); ++i) read_step(list.item(i), inherited, depth);
  }

 private:
  void template_at(const Node& node, const std::string& text) {
    task_.templates.push_back({node.where, text, task_.task.steps.size()});
  }

  // `when` (a step, a `cd` block), `changed_when`, `failed_when`: parsed now, names checked
  // with the templates.
  std::optional<Condition> read_expression(const Node& node, std::string_view key,
                                           bool sees_result) {
    std::optional<Condition> condition = read_condition(node, key, diags_);
    if (condition)
      task_.templates.push_back(
          {node.where, condition->text, task_.task.steps.size(), condition->expr, sees_result});
    return condition;
  }

  std::optional<std::string> read_template(const Node& node) {
    auto text = read_string(node, diags_);
    if (text) template_at(node, *text);
    return text;
  }

  // The one action key of a step, or empty after reporting none or several.
  std::string action_of(const Node& node) {
    std::vector<std::string> found;  // in document order
    for (const auto& item : node.value().items())
      if (std::find(kActions.begin(), kActions.end(), item.key()) != kActions.end())
        found.push_back(item.key());
    if (found.size() == 1) return found[0];
    if (found.size() > 1) {
      diags_.key_error(node.where, found[1],
                       fmt::format("a step has exactly one action, found {} and {}",
                                   quote(found[0]), quote(found[1])));
    } else if (!has_unknown_key(node)) {
      // An unknown key was already reported with its suggestion ("rn" -> "run").
      diags_.error(node.where,
                   "a step needs one action: \"run\", \"local\", \"put\", \"get\", "
                   "\"template\" or \"cd\"");
    }
    return "";
  }

  bool has_unknown_key(const Node& node) const {
    for (const auto& item : node.value().items())
      if (std::find(kStepKeys.begin(), kStepKeys.end(), item.key()) == kStepKeys.end()) return true;
    return false;
  }

  // Options a step sets for itself and, on a `cd` block, for the steps inside it.
  void read_options(const Node& node, Step& step) {
    if (auto key = node.find("sudo")) read_sudo(*key, step);
    if (auto key = node.find("env")) read_env(*key, step);
    if (auto key = node.find("timeout")) step.timeout = read_timeout(*key, diags_);
    if (auto key = node.find("retries")) step.retries = read_int(*key, diags_, 0);
    if (auto key = node.find("retry_delay")) step.retry_delay = read_duration(*key, diags_);
    if (auto key = node.find("ignore_errors"))
      step.ignore_errors = read_bool(*key, diags_).value_or(step.ignore_errors);
    if (auto key = node.find("secret")) step.secret = read_bool(*key, diags_).value_or(step.secret);
    if (auto key = node.find("no_log")) step.no_log = read_bool(*key, diags_).value_or(step.no_log);
    if (auto key = node.find("when"))
      if (auto condition = read_expression(*key, "when", false))
        step.when.push_back(std::move(*condition));
    if (auto key = node.find("delegate_to")) read_delegate(*key, step);
    if (auto key = node.find("notify")) read_notify(*key, step);
  }

  // delegate_to (issue 18): a plan host or "local", checked against the hosts once they are known.
  void read_delegate(const Node& node, Step& step) {
    auto name = read_string(node, diags_);
    if (!name) return;
    if (task_.task.is_local) {
      diags_.error(node.where,
                   "a local task runs on the controller: \"delegate_to\" cannot be used");
      return;
    }
    step.delegate_to = *name;
    task_.delegates.push_back({*name, node.where});
  }

  // `notify`: a task name or a list of them; checked once every task is known (flow_check.cpp).
  void read_notify(const Node& node, Step& step) {
    std::vector<Where> at;
    std::vector<std::string> names;
    if (node.value().is_string()) {
      if (auto name = read_string(node, diags_)) names = {*name}, at = {node.where};
    } else if (node.value().is_array()) {
      for (std::size_t i = 0; i < node.value().size(); ++i)
        if (auto name = read_string(node.item(i), diags_))
          names.push_back(*name), at.push_back(node.item(i).where);
    } else {
      diags_.error(node.where,
                   expected_but_got("a task name or a list of task names", node.value()));
    }
    for (std::size_t i = 0; i < names.size(); ++i) {
      task_.notifies.push_back({task_.task.steps.size(), names[i], at[i]});
      if (std::find(step.notify.begin(), step.notify.end(), names[i]) == step.notify.end())
        step.notify.push_back(names[i]);
    }
  }

  // `for_each` (and `loop_var`): a list literal, the name of a variable holding one, or one
  // `{{ EXPR }}` giving one. Returns false after an error.
  bool read_loop(const Node& node, LoopDraft& loop) {
    Node list = node.child("for_each");
    loop.where = list.where;
    loop.first = task_.task.steps.size();
    loop.depth = loop_vars_.size();
    const std::string text = list.value().is_string() ? list.value().get<std::string>() : "";
    if (list.value().is_array()) {
      loop.items = read_var_value(list, diags_);
      if (!loop.items) return false;
      add_item_templates(list);  // checked like every template, once hosts are known
    } else if (is_valid_var_name(text)) {
      loop.var_name = text;
    } else if (!read_loop_expression(list, text, loop)) {
      return false;
    }
    if (auto key = node.find("loop_var")) {
      auto name = read_string(*key, diags_);
      if (name && (!is_valid_var_name(*name) || is_reserved_var_name(*name) ||
                   name->find('.') != std::string::npos)) {
        diags_.error(key->where,
                     fmt::format("bad loop variable name {} (use letters, digits, \"_\" and \"-\")",
                                 quote(*name)));
        return false;
      }
      if (name) loop.loop_var = *name;
    }
    // Nested loops: both names are seen inside, so they must differ.
    if (std::find(loop_vars_.begin(), loop_vars_.end(), loop.loop_var) != loop_vars_.end()) {
      auto key = node.find("loop_var");
      diags_.error(key ? key->where : list.where,
                   fmt::format("loop variable {} is already the one of an enclosing \"for_each\" "
                               "(give this one another \"loop_var\")",
                               quote(loop.loop_var)));
      return false;
    }
    return true;
  }

  // `"for_each": "{{ EXPR }}"`: one reference, the whole string, evaluated per host at load.
  bool read_loop_expression(const Node& list, const std::string& text, LoopDraft& loop) {
    const std::string_view trimmed = trim(text);
    const bool is_one_reference = trimmed.starts_with("{{") && trimmed.ends_with("}}") &&
                                  trimmed.find("{{", 2) == std::string_view::npos &&
                                  trimmed.find("}}") == trimmed.size() - 2;
    SyntaxError error;
    if (list.value().is_string() && is_one_reference)
      loop.expr = Expr::parse(trim(trimmed.substr(2, trimmed.size() - 4)), error);
    if (loop.expr) return true;
    const std::string syntax = is_one_reference ? template_error(text) : "";
    diags_.error(list.where, !syntax.empty()
                                 ? syntax
                                 : expected_but_got("a list, the name of a variable that holds "
                                                    "one, or \"{{ EXPR }}\" giving one",
                                                    list.value()));
    return false;
  }

  static std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
    return text;
  }

  // The strings inside a list literal's items are templates (`["{{app}}-a", "b"]`).
  void add_item_templates(const Node& node) {
    if (node.value().is_string()) {
      if (node.value().get<std::string>().find("{{") != std::string::npos)
        template_at(node, node.value().get<std::string>());
    } else if (node.value().is_array()) {
      for (std::size_t i = 0; i < node.value().size(); ++i) add_item_templates(node.item(i));
    } else if (node.value().is_object()) {
      for (const auto& item : node.value().items()) add_item_templates(node.child(item.key()));
    }
  }

  void read_sudo(const Node& node, Step& step) {
    // issue 19: "yes" would be taken for a user named yes, and fail on every host at run time.
    static const std::vector<std::pair<std::string, bool>> kBooleanWords{
        {"yes", true}, {"true", true},   {"on", true},
        {"no", false}, {"false", false}, {"off", false}};
    if (node.value().is_string()) {
      std::string word = node.value().get<std::string>();
      for (char& c : word) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      for (const auto& [text, meaning] : kBooleanWords) {
        if (word != text) continue;
        diags_.error(node.where,
                     fmt::format("expected true, false or a user name, got {} (write {}{})",
                                 quote(node.value().get<std::string>()), meaning ? "true" : "false",
                                 meaning ? " to run as root" : " for no sudo"));
        return;
      }
    }
    if (node.value().is_boolean()) {
      step.sudo_user = node.value().get<bool>() ? std::optional<std::string>("") : std::nullopt;
    } else if (node.value().is_string() && !node.value().get<std::string>().empty()) {
      step.sudo_user = read_template(node);
    } else {
      diags_.error(node.where, expected_but_got("true, false or a user name", node.value()));
    }
  }

  // `owner`, `group`: a name or a number, as chown takes them (issue 18).
  void read_owner(const Node& node, std::string& into) {
    auto text = read_template(node);
    if (!text) return;
    if (text->empty() || text->find_first_of(" \t\n:") != std::string::npos) {
      diags_.error(node.where, expected_but_got("a user or group name or number", node.value()));
      return;
    }
    into = *text;
  }

  // `recursive` (issue 18): a folder; with `sudo`, `owner` or `group` too.
  void read_recursive(const Node& node, Step& step) {
    step.recursive = read_bool(node, diags_).value_or(false);
  }

  void read_env(const Node& node, Step& step) {
    if (!expect_object(node, diags_)) return;
    for (const auto& [name, value] : node.value().items()) {
      Node item = node.child(name);
      if (!is_env_name(name)) {
        diags_.key_error(
            node.where, name,
            fmt::format("bad environment variable name {} (use letters, digits and \"_\")",
                        quote(name)));
      } else if (value.is_string()) {
        step.env[name] = *read_template(item);
      } else if (value.is_number() || value.is_boolean()) {
        step.env[name] = value.dump();
      } else {
        diags_.error(item.where, expected_but_got("a string, number or boolean", value));
      }
    }
  }

  void read_register(const Node& node, Step& step) {
    auto name = read_string(node, diags_);
    if (!name) return;
    if (!is_valid_var_name(*name)) {
      diags_.error(node.where,
                   fmt::format("bad variable name {} (use letters, digits, \"_\", \"-\" and \".\")",
                               quote(*name)));
    } else if (is_reserved_var_name(*name)) {
      diags_.error(node.where,
                   fmt::format("{} is a built-in variable and cannot be registered", quote(*name)));
    } else {
      step.register_as = *name;
    }
  }

  // Keys that belong to one action only: "to" and "mode" (put, get, template), "max_size" (get),
  // "owner" and "group" (put, template), "recursive" (put, get), "steps" (cd).
  void check_action_keys(const Node& node, const std::string& action) {
    auto misplaced = [&](const char* key, bool is_allowed, const char* where) {
      if (node.value().contains(key) && !is_allowed)
        diags_.key_error(node.where, key,
                         fmt::format("{} is only used with {}", quote(key), where));
    };
    const bool is_file = action == "put" || action == "get" || action == "template";
    misplaced("to", is_file, "\"put\", \"get\" and \"template\"");
    misplaced("mode", is_file, "\"put\", \"get\" and \"template\"");
    misplaced("max_size", action == "get", "\"get\"");
    misplaced("recursive", action == "put" || action == "get", "\"put\" and \"get\"");
    misplaced("owner", action == "put" || action == "template", "\"put\" and \"template\"");
    misplaced("group", action == "put" || action == "template", "\"put\" and \"template\"");
    misplaced("steps", action == "cd", "\"cd\"");
    misplaced("changed_when", action == "run" || action == "local", "\"run\" and \"local\"");
    misplaced("failed_when", action == "run" || action == "local", "\"run\" and \"local\"");
    misplaced("creates", action == "run", "\"run\"");
    misplaced("removes", action == "run", "\"run\"");
    misplaced("loop_var", node.value().contains("for_each"), "\"for_each\"");
    misplaced("shell", action == "run" || action == "local" || action == "cd",
              "\"run\", \"local\" and \"cd\"");
    misplaced("prefix", action == "cd", "\"cd\" blocks and tasks");
  }

  void read_step(const Node& node, const Step& inherited, int depth) {
    if (!expect_object(node, diags_)) return;
    check_keys(node, kStepKeys, diags_);
    std::string action = action_of(node);
    if (action.empty()) return;
    check_action_keys(node, action);
    Step step = inherited;
    step.json_pointer = node.pointer();
    std::optional<LoopDraft> loop;
    if (node.value().contains("for_each")) {
      loop.emplace();
      if (!read_loop(node, *loop)) return;
    }
    read_options(node, step);
    for (const char* key : {"creates", "removes"})
      if (auto path = node.find(key))
        (key[0] == 'c' ? step.creates : step.removes) = read_template(*path);
    if (loop) loop_vars_.push_back(loop->loop_var);
    if (action == "cd") {
      read_cd(node, step, depth);
    } else {
      read_plain_step(node, action, step);
    }
    if (loop) loop_vars_.pop_back();
    if (loop) {
      loop->end = task_.task.steps.size();
      if (loop->end > loop->first) task_.loops.push_back(std::move(*loop));
    }
  }

  void read_plain_step(const Node& node, const std::string& action, Step& step) {
    if (!step.delegate_to.empty() && action != "run") {
      diags_.key_error(
          node.where, action,
          fmt::format("\"delegate_to\" is used with \"run\" steps, not {}", quote(action)));
      return;
    }
    if (auto key = node.find("shell"))
      if (auto shell = read_shell(*key, diags_)) step.shell = std::move(*shell);
    if (auto key = node.find("name")) step.name = read_template(*key).value_or("");
    if (auto key = node.find("register")) read_register(*key, step);
    if (action == "run" || action == "local") {
      if (auto key = node.find("changed_when"))
        step.changed_when = read_expression(*key, "changed_when", true);
      if (auto key = node.find("failed_when"))
        step.failed_when = read_expression(*key, "failed_when", true);
    }
    if (!read_action(node, action, step)) return;
    task_.task.steps.push_back(std::move(step));
  }

  bool read_action(const Node& node, const std::string& action, Step& step) {
    static const std::map<std::string, StepKind> kinds = {{"run", StepKind::Run},
                                                          {"local", StepKind::Local},
                                                          {"put", StepKind::Put},
                                                          {"get", StepKind::Get},
                                                          {"template", StepKind::Template}};
    step.kind = kinds.at(action);
    // A `run` step delegated to the controller is a `local` step with the host's variables.
    if (step.kind == StepKind::Run && step.delegate_to == "local") step.kind = StepKind::Local;
    if (task_.task.is_local && step.kind != StepKind::Local) {
      diags_.key_error(
          node.where, action,
          fmt::format("a local task has no remote host: {} cannot be used (use \"local\")",
                      quote(action)));
      return false;
    }
    auto command = step.kind == StepKind::Template ? read_template_path(node.child(action))
                                                   : read_template(node.child(action));
    if (step.kind == StepKind::Put || step.kind == StepKind::Get ||
        step.kind == StepKind::Template) {
      auto to = node.find("to");
      if (!to)
        diags_.error(node.where,
                     fmt::format("{} needs \"to\": where the file goes", quote(action)));
      step.to = to ? read_template(*to).value_or("") : "";
      if (!to) return false;
    }
    if (auto mode = node.find("mode")) {
      bool is_ok = mode->value().is_string() && is_octal_mode(mode->value().get<std::string>());
      if (is_ok)
        step.mode = mode->value().get<std::string>();
      else
        diags_.error(mode->where, expected_but_got("an octal mode like \"0644\"", mode->value()));
    }
    for (auto [key, into] : {std::pair{"owner", &step.owner}, std::pair{"group", &step.group}}) {
      if (auto found = node.find(key)) read_owner(*found, *into);
    }
    if (auto recursive = node.find("recursive")) read_recursive(*recursive, step);
    if (auto max_size = node.find("max_size")) {
      step.max_size = parse_byte_size(max_size->value());
      if (!step.max_size)
        diags_.error(max_size->where,
                     expected_but_got("a size in bytes like 1048576 or \"100M\" (K, M, G, T: powers of 1024)",
                                      max_size->value()));
    }
    if (!command) return false;
    step.command = *command;
    return true;
  }

  // issue 18: a template file is read and checked when the plan loads (template_check.cpp), so
  // its path is one file for every host: no variables.
  std::optional<std::string> read_template_path(const Node& node) {
    auto path = read_string(node, diags_);
    if (!path) return std::nullopt;
    if (path->empty() || path->find("{{") != std::string::npos) {
      diags_.error(node.where, fmt::format("a template's path is read when the plan loads: write "
                                           "one file, without variables, got {}",
                                           quote(*path)));
      return std::nullopt;
    }
    return path;
  }

  void read_cd(const Node& node, Step& scope, int depth) {
    for (const char* key : {"name", "register"}) {
      if (node.value().contains(key))
        diags_.key_error(node.where, key,
                         fmt::format("{} cannot be used on a \"cd\" block", quote(key)));
    }
    auto dir = read_template(node.child("cd"));
    auto steps = node.find("steps");
    if (!steps) diags_.error(node.where, "\"cd\" needs \"steps\": the steps run in that directory");
    if (!dir || !steps) return;
    if (depth >= kMaxCdDepth) {
      diags_.error(node.where, fmt::format("\"cd\" blocks nested more than {} deep", kMaxCdDepth));
      return;
    }
    scope.cwd = join_cwd(scope.cwd, *dir);
    read_shell_scope(node, scope, task_, diags_);
    read_list(*steps, scope, depth + 1);
  }

  TaskDraft& task_;
  Diagnostics& diags_;
  std::vector<std::string> loop_vars_;  ///< of the `for_each` blocks around the step being read
};

}  // namespace

void read_steps(const Node& list, TaskDraft& task, Diagnostics& diags, const Step& scope) {
  StepReader(task, diags).read_list(list, scope, 0);
}

}  // namespace deployd::plan
