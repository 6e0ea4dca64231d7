// SPDX-License-Identifier: MIT
// Control flow across steps and tasks: `for_each` expanded into copies of its steps per host, and
// `notify` names checked against the handlers they name (plan-format.md, "Loops", "Handlers").
#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

#include "plan/expr.hpp"
#include "plan/fields.hpp"
#include "plan/suggest.hpp"
#include "plan/validate.hpp"
#include "plan/vars.hpp"

namespace deployd::plan {

namespace {

// A --var's JSON as a Value: strings as they are, numbers and booleans as written.
Value from_json(const Json& json) {
  if (json.is_string()) return Value(json.get<std::string>());
  std::vector<Value> items;
  if (json.is_array()) {
    for (const Json& item : json) items.push_back(from_json(item));
    return Value::list(std::move(items));
  }
  if (!json.is_object()) return Value(json.dump());
  std::vector<std::string> keys;
  for (const auto& [key, item] : json.items()) {
    keys.push_back(key);
    items.push_back(from_json(item));
  }
  return Value::object(std::move(keys), std::move(items));
}

// How output names an item: `site=shop`; an object by its `name` member, else its first one.
std::string item_label(const std::string& name, const Value& item) {
  const Value* shown = &item;
  if (item.kind == Value::Kind::Object && !item.items.empty())
    shown = item.member("name") ? item.member("name") : &item.items.front();
  std::string text = to_text(*shown);
  // Data from a --var or an expression comes escaped (escaped_data): named as it reads.
  for (std::size_t at = text.find("\\{{"); at != std::string::npos; at = text.find("\\{{", at + 2))
    text.erase(at, 1);
  return name + "=" + text;
}

// What one host sees at one copy of a step: the loop variables around it, or why it has none.
struct Binding {
  Vars vars;
  std::string label;  ///< `site=shop, item=a`
  std::string skip;   ///< `empty for_each`; empty: the copy runs
};

// Why a loop has no list on a host: what (`variable "sites"`) and why (`is not a list ...`),
// so the host's name goes between them.
struct ListError {
  std::string what;
  std::string why;
};

// plan-format.md, "Loops": replaces each loop's steps with one copy per item, per host. Hosts
// whose lists differ get as many copies as the longest list; a host skips the copies past its
// own list's end. Every index that pointed into the steps (templates, notify) moves to the same
// step's first copy.
class LoopExpander {
 public:
  LoopExpander(const Plan& plan, TaskDraft& draft, std::vector<const Host*> targets,
               const std::set<std::string>& registered, Diagnostics& diags)
      : plan_(plan),
        draft_(draft),
        targets_(std::move(targets)),
        registered_(registered),
        diags_(diags),
        moved_(draft.task.steps.size() + 1, kNotMoved),
        reported_(draft.loops.size(), false) {
    // Outer loops first: a loop's range holds those after it that start inside it.
    std::sort(draft_.loops.begin(), draft_.loops.end(), [](const LoopDraft& a, const LoopDraft& b) {
      return std::tuple(a.first, b.end, a.depth) < std::tuple(b.first, a.end, b.depth);
    });
  }

  void run() {
    expand(0, draft_.task.steps.size(), 0, std::vector<Binding>(targets_.size()));
    moved_.back() = steps_.size();
    for (TemplateSite& site : draft_.templates)
      site.step = moved_[std::min(site.step, moved_.size() - 1)];
    for (NotifyDraft& notify : draft_.notifies)
      notify.step = moved_[std::min(notify.step, moved_.size() - 1)];
    draft_.task.steps = std::move(steps_);
    draft_.loop_names = std::move(loop_names_);
  }

 private:
  static constexpr std::size_t kNotMoved = static_cast<std::size_t>(-1);

  // The steps [first, end), each loop among them (from loops_[next] on) expanded.
  void expand(std::size_t first, std::size_t end, std::size_t next,
              const std::vector<Binding>& outer) {
    for (std::size_t i = first; i < end;) {
      while (next < draft_.loops.size() && draft_.loops[next].first < i) ++next;
      if (next < draft_.loops.size() && draft_.loops[next].first == i) {
        const std::size_t loop_end = draft_.loops[next].end;
        expand_loop(next, outer);
        i = loop_end;
      } else {
        emit(i++, outer);
      }
    }
  }

  void expand_loop(std::size_t at, const std::vector<Binding>& outer) {
    const LoopDraft& loop = draft_.loops[at];
    std::vector<std::optional<Value>> lists(targets_.size());
    std::size_t longest = 0;
    std::vector<std::pair<std::size_t, ListError>> errors;
    for (std::size_t t = 0; t < targets_.size(); ++t) {
      if (!outer[t].skip.empty()) continue;
      ListError error;
      lists[t] = list_on(loop, targets_[t], outer[t].vars, error);
      if (lists[t])
        longest = std::max(longest, lists[t]->items.size());
      else
        errors.emplace_back(t, std::move(error));
    }
    report(at, errors);
    scope_.push_back(loop.loop_var);
    // An empty list keeps the steps once, to be reported skipped (`skipped: empty for_each`).
    for (std::size_t n = 0; n < std::max<std::size_t>(longest, 1); ++n) {
      std::vector<Binding> inner = outer;
      for (std::size_t t = 0; t < targets_.size(); ++t) {
        Binding& binding = inner[t];
        if (!binding.skip.empty()) continue;
        const std::size_t count = lists[t] ? lists[t]->items.size() : 0;
        if (n >= count) {
          binding.skip = count == 0 ? "empty for_each"
                                    : fmt::format("for_each has {} item{} on this host", count,
                                                  count == 1 ? "" : "s");
          continue;
        }
        Value item = lists[t]->items[n];
        if (item.defined_at.empty()) item.defined_at = lists[t]->defined_at;
        const std::string label = item_label(loop.loop_var, item);
        binding.label = binding.label.empty() ? label : binding.label + ", " + label;
        binding.vars.insert_or_assign(loop.loop_var, std::move(item));
      }
      expand(loop.first, loop.end, at + 1, inner);
    }
    scope_.pop_back();
  }

  // One copy of step `index`: the same on every host, or each host's own.
  void emit(std::size_t index, const std::vector<Binding>& bindings) {
    if (moved_[index] == kNotMoved) moved_[index] = steps_.size();
    Step copy = draft_.task.steps[index];
    const bool is_same = std::all_of(bindings.begin(), bindings.end(), [&](const Binding& b) {
      return b.skip == bindings.front().skip && b.label == bindings.front().label &&
             b.vars == bindings.front().vars;
    });
    if (is_same && !bindings.empty()) {
      copy.loop_vars = bindings.front().vars;
      copy.item_label = bindings.front().label;
      copy.loop_skip = bindings.front().skip;
    } else if (!is_same) {
      auto items = std::make_shared<std::map<std::string, Step::HostItem>>();
      for (std::size_t t = 0; t < targets_.size(); ++t)
        items->insert_or_assign(
            targets_[t]->name,
            Step::HostItem{bindings[t].vars, bindings[t].label, bindings[t].skip});
      copy.host_items = std::move(items);
    }
    steps_.push_back(std::move(copy));
    loop_names_.push_back(scope_);
  }

  // The list `loop` goes over on `host` (null: the controller), the outer loops' variables in
  // scope, or nullopt and why. A literal's and a plan value's items are templates; a --var's
  // and an expression's are data (escaped, so that they read back as they are).
  std::optional<Value> list_on(const LoopDraft& loop, const Host* host, const Vars& outer,
                               ListError& error) {
    if (loop.items) return loop.items;
    VarContext context{&plan_, host, nullptr, "run", "", &outer};
    VarScope scope(context);
    if (loop.expr) {
      error.what = quote("{{ " + loop.expr->text() + " }}");
      Evaluated result = loop.expr->evaluate(scope);
      if (!result.error.empty()) {
        error.why = result.error;
        return std::nullopt;
      }
      if (result.value.kind == Value::Kind::List) return escaped_data(std::move(result.value));
      error.why = fmt::format("gives {}, not a list", quote(to_text(result.value)));
      return std::nullopt;
    }
    error.what = fmt::format("variable {}", quote(loop.var_name));
    if (!outer.count(loop.var_name.substr(0, loop.var_name.find('.'))))
      if (auto found = plan_.overrides.find(loop.var_name); found != plan_.overrides.end()) {
        Json parsed = Json::parse(found->second, nullptr, false);
        if (parsed.is_array()) return escaped_data(from_json(parsed));
        error.why = fmt::format("is not a list (it holds {}, a --var)", quote(found->second));
        return std::nullopt;
      }
    bool is_data = true;
    std::optional<Value> value = scope.find_value(loop.var_name, is_data);
    if (value && value->kind == Value::Kind::List) {
      Value list = is_data ? escaped_data(std::move(*value)) : std::move(*value);
      return list;
    }
    if (value) {
      error.why = fmt::format("is not a list (it holds {}{})", quote(to_text(*value)),
                              value->defined_at.empty() ? "" : ", defined at " + value->defined_at);
    } else if (registered_.count(loop.var_name.substr(0, loop.var_name.find('.')))) {
      error.why =
          "is registered at run time: a for_each list must be known when the plan is "
          "loaded";
    } else {
      error.what = fmt::format("unknown variable {}", quote(loop.var_name));
      error.why = fmt::format("(a list in vars: the plan's, a group's or a host's, or a --var){}",
                              did_you_mean(loop.var_name, candidates(host, outer)));
    }
    return std::nullopt;
  }

  std::vector<std::string> candidates(const Host* host, const Vars& outer) const {
    std::vector<std::string> names;
    for (const auto& entry : plan_.overrides) names.push_back(entry.first);
    for (const Vars* vars : {&plan_.vars, host ? &host->vars : nullptr, &outer})
      if (vars)
        for (const auto& entry : *vars) names.push_back(entry.first);
    return names;
  }

  // One error per loop, naming the first host it fails on unless it fails alike everywhere
  // (a plan variable): `for_each: variable "sites" for host "web2" is not a list (...)`.
  void report(std::size_t at, const std::vector<std::pair<std::size_t, ListError>>& errors) {
    if (errors.empty() || reported_[at]) return;
    reported_[at] = true;
    const ListError& first = errors.front().second;
    const bool is_alike = errors.size() == targets_.size() &&
                          std::all_of(errors.begin(), errors.end(), [&](const auto& error) {
                            return error.second.what == first.what && error.second.why == first.why;
                          });
    const Host* host = targets_[errors.front().first];
    std::string whom;
    if (!is_alike && host) {
      whom = fmt::format(" for host {}", quote(host->name));
      if (errors.size() > 1) whom += fmt::format(" and {} more hosts", errors.size() - 1);
    }
    diags_.error(draft_.loops[at].where,
                 fmt::format("for_each: {}{} {}", first.what, whom, first.why));
  }

  const Plan& plan_;
  TaskDraft& draft_;
  const std::vector<const Host*> targets_;  ///< the task's hosts; the controller (null) if local
  const std::set<std::string>& registered_;
  Diagnostics& diags_;
  std::vector<Step> steps_;
  std::vector<std::size_t> moved_;  ///< old index -> its first copy
  std::vector<std::vector<std::string>> loop_names_;
  std::vector<std::string> scope_;  ///< loop variables around the step being copied
  std::vector<bool> reported_;      ///< per loop: its error is reported
};

}  // namespace

void expand_loops(const Plan& plan, std::vector<TaskDraft>& tasks, Diagnostics& diags) {
  std::set<std::string> registered;
  for (const TaskDraft& draft : tasks)
    for (const Step& step : draft.task.steps)
      if (!step.register_as.empty()) registered.insert(step.register_as);
  std::unordered_map<std::string_view, const Host*> hosts;
  for (const Host& host : plan.hosts) hosts.emplace(host.name, &host);
  for (TaskDraft& draft : tasks) {
    if (draft.loops.empty()) continue;
    std::vector<const Host*> targets;
    if (draft.task.is_local) targets.push_back(nullptr);
    if (!draft.task.is_local)
      for (const std::string& name : draft.task.hosts)
        if (auto found = hosts.find(name); found != hosts.end()) targets.push_back(found->second);
    LoopExpander(plan, draft, std::move(targets), registered, diags).run();
  }
}

void validate_notify(std::vector<TaskDraft>& tasks, Diagnostics& diags) {
  std::unordered_map<std::string, std::size_t> index;
  std::vector<std::string> handlers;
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    index.emplace(tasks[i].task.name, i);
    if (tasks[i].task.is_handler) handlers.push_back(tasks[i].task.name);
  }
  for (TaskDraft& draft : tasks) {
    for (const NotifyDraft& notify : draft.notifies) {
      auto found = index.find(notify.name);
      if (found == index.end()) {
        diags.error(notify.where, fmt::format("notify: unknown task {}{}", quote(notify.name),
                                              did_you_mean(notify.name, handlers)));
        continue;
      }
      TaskDraft& handler = tasks[found->second];
      if (!handler.task.is_handler) {
        diags.error(notify.where,
                    fmt::format("notify: task {} is not a handler (add \"handler\": true to it)",
                                quote(notify.name)));
      } else if (handler.task.is_local != draft.task.is_local) {
        // plan-format.md: a step notifies the handler on its own host ("local" for local tasks).
        diags.error(
            notify.where,
            fmt::format(
                "notify: {} task {} cannot notify {} handler {}: a step notifies on its own host",
                draft.task.is_local ? "local" : "remote", quote(draft.task.name),
                handler.task.is_local ? "local" : "remote", quote(notify.name)));
      } else if (std::find(handler.task.notified_by.begin(), handler.task.notified_by.end(),
                           draft.task.name) == handler.task.notified_by.end()) {
        handler.task.notified_by.push_back(draft.task.name);
        handler.notified_at.push_back(notify.where);
      }
    }
  }
}

}  // namespace deployd::plan
