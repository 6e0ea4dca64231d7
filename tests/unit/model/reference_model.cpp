// SPDX-License-Identifier: MIT
// The reference model (see reference_model.hpp). Written from the rules of
// docs/plan-format.md ("How a task waits for its needs") only: the plan JSON is read here, not through the loader.
//
// The model does not predict the order hosts run their jobs in (the scheduler may choose it);
// it takes the order each host ran its jobs in from the events, checks that order against the
// rules (R1, waves, R5), and then derives what every job and host must have ended as (R2, R4)
// from the injected failures alone.
#include "model/reference_model.hpp"

#include <fmt/format.h>
#include <fnmatch.h>

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>

namespace deployd::model {
namespace {

const std::string kLocal = "local";
constexpr int kNever = 1 << 30;  ///< the index of an event that did not happen
constexpr std::size_t kMostLines = 12;

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string join(const std::vector<std::string>& items, const char* separator = ",") {
  std::string text;
  for (const std::string& item : items) text += (text.empty() ? "" : separator) + item;
  return text;
}

std::vector<std::string> as_list(const Json& value) {
  std::vector<std::string> list;
  if (value.is_string()) list.push_back(value.get<std::string>());
  if (value.is_array())
    for (const Json& item : value) list.push_back(item.get<std::string>());
  return list;
}

bool glob(const std::string& pattern, const std::string& name) {
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

/// The hosts of a folded list (`h[01-03,05],db1`, as dshbak -c writes it), unfolded here
/// without the code that folds them. Empty on a malformed text.
std::set<std::string> unfold(const std::string& text) {
  std::set<std::string> hosts;
  std::size_t at = 0;
  while (at < text.size()) {
    std::size_t open = text.find('[', at);
    std::size_t comma = text.find(',', at);
    if (comma != std::string::npos && (open == std::string::npos || comma < open)) {
      hosts.insert(text.substr(at, comma - at));
      at = comma + 1;
      continue;
    }
    if (open == std::string::npos) {
      hosts.insert(text.substr(at));
      break;
    }
    std::size_t close = text.find(']', open);
    if (close == std::string::npos) return {};
    std::size_t next = text.find(',', close);
    const std::string prefix = text.substr(at, open - at);
    const std::string suffix =
        text.substr(close + 1, next == std::string::npos ? std::string::npos : next - close - 1);
    std::string ranges = text.substr(open + 1, close - open - 1) + ",";
    for (std::size_t from = 0, end; (end = ranges.find(',', from)) != std::string::npos;
         from = end + 1) {
      std::string range = ranges.substr(from, end - from);
      std::size_t dash = range.find('-');
      std::string low = range.substr(0, dash);
      std::string high = dash == std::string::npos ? low : range.substr(dash + 1);
      if (low.empty() || high.empty()) return {};
      for (long n = std::stol(low); n <= std::stol(high); ++n) {
        std::string digits = std::to_string(n);
        if (digits.size() < low.size()) digits.insert(0, low.size() - digits.size(), '0');
        hosts.insert(prefix + digits + suffix);
      }
    }
    at = next == std::string::npos ? text.size() : next + 1;
  }
  return hosts;
}

/// A task as the rules see it.
struct TaskSpec {
  std::string name;
  bool is_local = false;
  bool run_once = false;
  bool barrier = false;
  bool is_default = false;
  std::vector<std::string> needs;
  std::vector<std::string> unlimited;  ///< `on` resolved, in plan order, before --limit
  std::vector<std::string> targets;    ///< `on` resolved, in plan order, after --limit
  std::vector<std::string> hosts;      ///< hosts(T): one for run_once, `local` for local tasks
  std::vector<bool> ignore_errors;     ///< per step
  bool is_handler = false;             ///< runs only where notified (issue 17, D16-D19)
  std::vector<std::string> kinds;      ///< per step: "run", "local" or "put"
  std::vector<std::vector<std::string>> notify;  ///< per step: the handlers it notifies
  Json rolling = Json::object();       ///< its own policy.serial and policy.batches (D12)
  /// per step: its `when` ("" without), of those the generator writes: true, false, success(),
  /// failure(), always()
  std::vector<std::string> when;
  std::string task_when;  ///< the task's own `when`
};

/// Whether a step with condition `when` runs, after a step of its task failed on the host or
/// not (plan-format.md, "Conditions": status functions).
bool step_runs(const std::string& when, bool failed) {
  if (failed) return when == "failure()" || when == "always()";
  return when != "false" && when != "failure()";
}

enum class NeedKind { PerHost, Barrier, AllHost };

const char* kind_name(NeedKind kind) {
  switch (kind) {
    case NeedKind::PerHost:
      return "per-host need";
    case NeedKind::Barrier:
      return "barrier need";
    case NeedKind::AllHost:
      return "all-host need";
  }
  return "";
}

/// One need of one job: who must have ended before it starts (R1), and whose failure skips it (R2).
struct NeedOf {
  std::string task;
  NeedKind kind = NeedKind::PerHost;
  std::vector<std::string> order_hosts;
  std::vector<std::string> skip_hosts;
};

/// NotNotified: a handler nothing notified on the host; its steps are skipped, and it counts
/// as done and successful (D17).
/// WhenFalse: a task whose own `when` is false there; it counts as done and successful too.
enum class Outcome { Unknown, Ok, Failed, Skipped, NotNotified, WhenFalse };

/// The job's host may go on after it, and what needs it may run.
bool succeeded(Outcome outcome) {
  return outcome == Outcome::Ok || outcome == Outcome::NotNotified || outcome == Outcome::WhenFalse;
}

const char* outcome_name(Outcome outcome) {
  switch (outcome) {
    case Outcome::Unknown:
      return "unknown";
    case Outcome::Ok:
      return "ok";
    case Outcome::Failed:
      return "failed";
    case Outcome::Skipped:
      return "skipped";
    case Outcome::NotNotified:
      return "not notified";
    case Outcome::WhenFalse:
      return "skipped by its when";
  }
  return "";
}

using JobKey = std::pair<std::string, std::string>;  ///< task, host

std::string job_name(const JobKey& job) { return job.first + "@" + job.second; }

/// What the events say about one job.
struct JobSeen {
  int first = kNever;                 ///< its first event
  int start = kNever;                 ///< its first step_start: it ran
  int end = -1;                       ///< its last step_end
  std::map<int, std::string> steps;   ///< step -> "ok", "failed", "failed-ignored", "skipped"...
  std::map<int, std::string> errors;  ///< step -> the step_end's error
  std::map<int, bool> changed;        ///< step -> the step_end's `changed`
  std::set<int> retrying;             ///< steps whose last attempt will be tried again
};

struct HostSeen {
  int end = kNever;  ///< the index of its host_end
  HostStatus status = HostStatus::Ok;
  std::string error;
};

std::string step_status_text(const StepEnd& end) {
  if (end.status == StepStatus::Failed && end.ignored) return "failed-ignored";
  return to_string(end.status);
}

/// The plan, the command line and the injected failures, read the way the rules read them.
class Rules {
 public:
  /// The case's run, or with `retry_hosts` the --retry-failed run after it (same --limit).
  Rules(const Case& c, const std::vector<std::string>* retry_hosts) {
    read_hosts(c.plan);
    read_groups(c.plan);
    std::set<std::string> kept = limited(c.limit);
    for (const auto& [name, body] : c.plan.at("tasks").items()) {
      tasks_.push_back(read_task(name, body, kept));
      tasks_json_[name] = body;
      steps_json_[name] = body.at("steps");
    }
    for (std::size_t t = 0; t < tasks_.size(); ++t) index_[tasks_[t].name] = t;
    select(c.names);
    if (retry_hosts) narrow_to_retry(*retry_hosts);
    for (const std::string& name : c.names)
      if (!contains(names, name)) names.push_back(name);
    const std::vector<std::string>& fails = retry_hosts ? c.retry_fail : c.fail;
    const std::vector<std::string>& unreachable = retry_hosts ? c.retry_unreachable : c.unreachable;
    fails_.insert(fails.begin(), fails.end());
    unchanged_.insert(c.unchanged.begin(), c.unchanged.end());
    unreachable_.insert(unreachable.begin(), unreachable.end());
    if (c.plan.contains("policy")) policy_ = c.plan["policy"];
    if (policy_.contains("batches")) batches_ = policy_["batches"];
  }

  std::vector<std::string> hosts;     ///< every host of the plan, in plan order
  std::vector<std::string> selected;  ///< the tasks of the run, in document order
  std::vector<std::string> names;     ///< named on the command line, once each
  /// --limit patterns that match no host or group: an error, so a typo never runs on nothing.
  std::vector<std::string> unmatched;

  const TaskSpec& task(const std::string& name) const { return tasks_.at(index_.at(name)); }
  bool is_unreachable(const std::string& host) const { return unreachable_.count(host) > 0; }
  /// The step fails there for good: it always fails, or fails more attempts than its retries.
  bool fails(const std::string& task, const std::string& host, int step) const {
    const std::string where = task + "@" + host + "#" + std::to_string(step);
    if (fails_.count(where)) return true;
    for (const std::string& text : fails_) {
      FailPoint point = parse_fail(text);
      if (point.attempts > 0 && fail_text({point.task, point.host, point.step, 0}) == where)
        return point.attempts > retries(task, step);
    }
    return false;
  }

  /// issue 17, "Changed": a run or local step that succeeded changed its host; a put did
  /// unless it found the remote file equal.
  bool changes(const std::string& task, const std::string& host, int step) const {
    if (this->task(task).kinds[static_cast<std::size_t>(step)] != "put") return true;
    return !unchanged_.count(fail_text({task, host, step, 0}));
  }

  /// The selected tasks with a step that notifies `handler` (D16: its notifiers in the run).
  std::vector<std::string> notifiers(const std::string& handler) const {
    std::vector<std::string> out;
    for (const std::string& name : selected) {
      const TaskSpec& t = task(name);
      if (std::any_of(t.notify.begin(), t.notify.end(),
                      [&](const std::vector<std::string>& n) { return contains(n, handler); }))
        out.push_back(name);
    }
    return out;
  }

  /// What a task comes after in the run's order: its needs and its notifiers in the run.
  std::vector<std::string> order_needs(const std::string& name) const {
    std::vector<std::string> out = task(name).needs;
    for (const std::string& notifier : notifiers(name))
      if (!contains(out, notifier)) out.push_back(notifier);
    return out;
  }

  /// A step's retries: its own, else its task's policy's, else the plan's (plan-format.md).
  int retries(const std::string& task, int step) const {
    const Json& step_json = steps_json_.at(task)[static_cast<std::size_t>(step)];
    if (step_json.contains("retries")) return step_json["retries"].get<int>();
    const Json& task_policy = tasks_json_.at(task).value("policy", Json::object());
    if (task_policy.contains("retries")) return task_policy["retries"].get<int>();
    return policy_.value("retries", 0);
  }

  /// `from` needs `to`, directly or through other needs.
  bool reaches(const std::string& from, const std::string& to) const {
    for (const std::string& need : order_needs(from))
      if (need == to || reaches(need, to)) return true;
    return false;
  }

  /// Failed hosts the plan's budget tolerates among `hosts` (no more than this, or abort).
  int tolerated_failures(int hosts) const { return tolerated(policy_, policy_, hosts); }

  /// Whether `task`'s own policy sets a budget (max_failures or on_failure).
  bool has_budget(const std::string& task) const {
    const Json& own = tasks_json_.at(task).value("policy", Json::object());
    return own.contains("max_failures") || own.contains("on_failure");
  }
  /// What `task`'s own budget tolerates: its keys, else the plan's, of the hosts it targets.
  int task_tolerated(const std::string& task) const {
    const Json& own = tasks_json_.at(task).value("policy", Json::object());
    return tolerated(own, policy_, static_cast<int>(this->task(task).targets.size()));
  }

  /// docs/needs-rules.md D8: the order each host runs its tasks in (jobs an earlier wave
  /// needs aside). Named tasks: depth first in command-line order, each task's needs first, in
  /// plan-file order. No names: again and again the first task of the document whose needs
  /// are placed.
  std::map<std::string, int> task_order() const {
    std::vector<std::string> placed;
    if (!names.empty()) {
      std::function<void(const std::string&)> visit = [&](const std::string& name) {
        if (contains(placed, name) || !index_.count(name)) return;
        std::vector<std::string> needs = order_needs(name);
        std::sort(needs.begin(), needs.end(), [&](const std::string& a, const std::string& b) {
          return index_.at(a) < index_.at(b);
        });
        for (const std::string& need : needs) visit(need);
        placed.push_back(name);
      };
      for (const std::string& name : names) visit(name);
      // The handlers the named tasks bring, and their needs: in plan order, each after what
      // it comes after (D8, D16).
      for (const std::string& name : selected) visit(name);
    }
    for (bool progressed = true; progressed && placed.size() < selected.size();) {
      progressed = false;
      for (const std::string& name : selected) {
        if (contains(placed, name)) continue;
        const std::vector<std::string> needs = order_needs(name);
        if (!std::all_of(needs.begin(), needs.end(),
                         [&](const std::string& n) { return contains(placed, n); }))
          continue;
        placed.push_back(name);
        progressed = true;
        break;
      }
    }
    std::map<std::string, int> order;
    for (std::size_t i = 0; i < placed.size(); ++i) order[placed[i]] = static_cast<int>(i);
    return order;
  }

  /// The hosts of the run: every host some selected remote task runs on (hosts(T)), or with
  /// `with_run_once_targets` also the other targets of run_once tasks, which run nothing.
  std::vector<std::string> run_hosts(bool with_run_once_targets) const {
    std::set<std::string> in_run;
    for (const std::string& name : selected) {
      const TaskSpec& t = task(name);
      if (t.is_local) continue;
      const std::vector<std::string>& list = with_run_once_targets ? t.targets : t.hosts;
      in_run.insert(list.begin(), list.end());
    }
    std::vector<std::string> ordered;
    for (const std::string& host : hosts)
      if (in_run.count(host)) ordered.push_back(host);
    return ordered;
  }

  /// Each run host's wave (0-based): sizes from policy.batches, counts or percentages of the
  /// run's hosts rounded up (at least one), the last size repeating.
  std::map<std::string, int> waves(const std::vector<std::string>& run) const {
    std::map<std::string, int> wave;
    const int total = static_cast<int>(run.size());
    std::size_t at = 0;
    for (int w = 0; at < run.size(); ++w) {
      int size = total;
      if (!batches_.empty()) {
        const Json& amount = batches_[std::min(static_cast<std::size_t>(w), batches_.size() - 1)];
        if (amount.is_number()) {
          size = amount.get<int>();
        } else {
          int percent = std::stoi(amount.get<std::string>());
          size = (percent * total + 99) / 100;
        }
      }
      for (int i = 0; i < std::max(1, size) && at < run.size(); ++i) wave[run[at++]] = w;
    }
    return wave;
  }

  /// The needs of job (task, host) as R1 classifies them.
  std::vector<NeedOf> needs_of(const std::string& name, const std::string& host,
                               const std::map<std::string, int>& wave) const {
    std::vector<NeedOf> needs;
    for (const std::string& need_name : task(name).needs)
      needs.push_back(classify(name, need_name, host, wave));
    return needs;
  }

  /// D16: a handler's job waits for each of its notifiers that runs on its host as for a
  /// need (per host, or its wave's for a barrier handler), but their failure skips nothing.
  std::vector<NeedOf> afters_of(const std::string& name, const std::string& host,
                                const std::map<std::string, int>& wave) const {
    std::vector<NeedOf> afters;
    if (!task(name).is_handler) return afters;
    for (const std::string& notifier : notifiers(name))
      if (contains(task(notifier).hosts, host)) {
        NeedOf after = classify(name, notifier, host, wave);
        after.skip_hosts.clear();
        afters.push_back(std::move(after));
      }
    return afters;
  }

  /// Everything job (name, host) waits for: needs and notifiers.
  std::vector<NeedOf> waits_of(const std::string& name, const std::string& host,
                               const std::map<std::string, int>& wave) const {
    std::vector<NeedOf> waits = needs_of(name, host, wave);
    for (NeedOf& after : afters_of(name, host, wave)) waits.push_back(std::move(after));
    return waits;
  }

  /// How job (name, host) waits for `need_name` (R1, D1).
  NeedOf classify(const std::string& name, const std::string& need_name, const std::string& host,
                  const std::map<std::string, int>& wave) const {
    const TaskSpec& t = task(name);
    const TaskSpec& n = task(need_name);
    NeedOf need{need_name, NeedKind::AllHost, n.hosts, n.hosts};
    if (!n.is_local && !n.run_once && contains(n.hosts, host)) {
      // docs/needs-rules.md D1: a run_once task waits for such a need like a barrier.
      const bool barrier = t.barrier || t.run_once;
      need.kind = barrier ? NeedKind::Barrier : NeedKind::PerHost;
      need.skip_hosts = {host};
      need.order_hosts = {host};
      if (barrier) {
        need.order_hosts.clear();
        for (const std::string& x : n.hosts)
          if (wave.at(x) <= wave.at(host)) need.order_hosts.push_back(x);
      }
    }
    return need;
  }

 private:
  void read_hosts(const Json& plan) {
    if (!plan.contains("hosts")) return;
    for (const Json& host : plan["hosts"]) {
      std::string name =
          host.is_string() ? host.get<std::string>() : host.at("name").get<std::string>();
      hosts.push_back(name);
      if (host.is_object() && host.contains("groups"))
        for (const std::string& group : as_list(host["groups"]))
          extra_members_[group].push_back(name);
    }
  }

  void read_groups(const Json& plan) {
    if (plan.contains("groups"))
      for (const auto& [name, body] : plan["groups"].items())
        raw_groups_[name] = as_list(body.is_object() ? body.at("hosts") : body);
    for (const auto& [group, members] : extra_members_)
      for (const std::string& member : members) raw_groups_[group].push_back(member);
  }

  /// Hosts of a group or host name, groups of groups included.
  void members(const std::string& name, std::set<std::string>& out, int depth = 0) const {
    if (name == "all") {
      out.insert(hosts.begin(), hosts.end());
    } else if (auto group = raw_groups_.find(name); group != raw_groups_.end() && depth < 32) {
      for (const std::string& member : group->second) members(member, out, depth + 1);
    } else {
      out.insert(name);
    }
  }

  /// The hosts --limit keeps: those a pattern matches by name, or by a group they are in.
  std::set<std::string> limited(const std::vector<std::string>& patterns) {
    std::set<std::string> kept;
    if (patterns.empty()) return std::set<std::string>(hosts.begin(), hosts.end());
    for (const std::string& pattern : patterns) {
      std::set<std::string> matched;
      for (const std::string& host : hosts)
        if (glob(pattern, host)) matched.insert(host);
      for (const auto& entry : raw_groups_)
        if (glob(pattern, entry.first)) members(entry.first, matched);
      if (glob(pattern, "all")) matched.insert(hosts.begin(), hosts.end());
      if (matched.empty()) unmatched.push_back(pattern);
      kept.insert(matched.begin(), matched.end());
    }
    return kept;
  }

  // --retry-failed, docs/needs-rules.md D7: only the hosts to retry; a selected task that
  // still runs (local, or with a host left) gives a remote need left with no host its hosts
  // back, so that it runs again, and so on for the needs of that need.
  void narrow_to_retry(const std::vector<std::string>& retry) {
    std::vector<std::vector<std::string>> before;
    for (TaskSpec& t : tasks_) {
      before.push_back(t.targets);
      std::erase_if(t.targets, [&](const std::string& host) { return !contains(retry, host); });
      set_hosts(t);
    }
    for (bool again = true; again;) {
      again = false;
      for (const std::string& name : selected) {
        if (task(name).hosts.empty()) continue;
        for (const std::string& need : task(name).needs) {
          const std::size_t n = index_.at(need);
          if (tasks_[n].is_local || !tasks_[n].targets.empty() || before[n].empty()) continue;
          tasks_[n].targets = before[n];
          set_hosts(tasks_[n]);
          again = true;
        }
      }
    }
  }

  static void set_hosts(TaskSpec& t) {
    if (t.is_local) return;
    t.hosts = t.targets;
    if (t.run_once && t.hosts.size() > 1) t.hosts.resize(1);
  }

  TaskSpec read_task(const std::string& name, const Json& body,
                     const std::set<std::string>& kept) const {
    TaskSpec t;
    t.name = name;
    t.needs = as_list(body.value("needs", Json()));
    t.run_once = body.value("run_once", false);
    t.barrier = body.value("barrier", false);
    t.is_default = body.value("default", false);
    t.is_handler = body.value("handler", false);
    for (const Json& step : body.at("steps")) {
      t.ignore_errors.push_back(step.value("ignore_errors", false));
      t.kinds.push_back(step.contains("put") ? "put" : step.contains("local") ? "local" : "run");
      t.notify.push_back(as_list(step.value("notify", Json())));
      t.when.push_back(step.value("when", std::string()));
    }
    t.task_when = body.value("when", std::string());
    const Json& own = body.value("policy", Json::object());
    for (const char* key : {"serial", "batches"})
      if (own.contains(key)) t.rolling[key] = own[key];
    std::vector<std::string> on =
        body.contains("on") ? as_list(body["on"]) : std::vector<std::string>{"all"};
    if (on == std::vector<std::string>{kLocal}) {
      t.is_local = true;
      t.hosts = {kLocal};
      return t;
    }
    std::set<std::string> targeted;
    for (const std::string& target : on) members(target, targeted);
    for (const std::string& host : hosts)  // plan order, whatever the order of `on`
      if (targeted.count(host)) {
        t.unlimited.push_back(host);
        if (kept.count(host)) t.targets.push_back(host);
      }
    set_hosts(t);
    return t;
  }

  // Named tasks with their needs; no name: the `default` tasks, else every task.
  void select(const std::vector<std::string>& named) {
    std::vector<std::string> roots = named;
    if (roots.empty())
      for (const TaskSpec& t : tasks_)
        if (t.is_default) roots.push_back(t.name);
    // D18: handlers are no default roots; a task brings the handlers its steps notify.
    if (roots.empty())
      for (const TaskSpec& t : tasks_)
        if (!t.is_handler) roots.push_back(t.name);
    std::set<std::string> chosen;
    std::vector<std::string> todo = roots;
    while (!todo.empty()) {
      std::string name = todo.back();
      todo.pop_back();
      if (!index_.count(name) || !chosen.insert(name).second) continue;
      for (const std::string& need : task(name).needs) todo.push_back(need);
      for (const std::vector<std::string>& handlers : task(name).notify)
        todo.insert(todo.end(), handlers.begin(), handlers.end());
    }
    for (const TaskSpec& t : tasks_)
      if (chosen.count(t.name)) selected.push_back(t.name);
  }

  std::map<std::string, std::vector<std::string>> raw_groups_;
  std::map<std::string, std::vector<std::string>> extra_members_;  ///< from a host's "groups"
  std::vector<TaskSpec> tasks_;                                    ///< document order
  std::map<std::string, std::size_t> index_;
  std::set<std::string> fails_;
  std::set<std::string> unreachable_;
  std::set<std::string> unchanged_;
  // A budget's tolerance: under on_failure abort none; else max_failures, a count or a
  // percentage of `hosts` rounded up; keys `own` lacks come from `plan`.
  static int tolerated(const Json& own, const Json& plan, int hosts) {
    const Json& on_failure = own.contains("on_failure")
                                 ? own["on_failure"]
                                 : plan.value("on_failure", Json("stop-host"));
    if (on_failure == "abort") return 0;
    const Json& source = own.contains("max_failures") ? own : plan;
    if (!source.contains("max_failures")) return hosts;
    const Json& amount = source["max_failures"];
    if (amount.is_number()) return amount.get<int>();
    const int percent = std::stoi(amount.get<std::string>());
    return (percent * hosts + 99) / 100;
  }

  std::map<std::string, Json> tasks_json_;
  std::map<std::string, Json> steps_json_;
  Json policy_ = Json::object();
  Json batches_ = Json::array();
};

/// Judges one observed run against the rules; collects the discrepancies.
class Judge {
 public:
  Judge(const Case& c, const Observation& seen, const Checks& checks,
        const std::vector<std::string>* retry_hosts = nullptr)
      : case_(c),
        rules_(c, retry_hosts),
        seen_(seen),
        checks_(checks),
        is_retry_(retry_hosts != nullptr) {}

  std::vector<std::string> run() {
    judge_run();
    if (case_.retry && !is_retry_ && judged_whole_) judge_retry();
    if (lines_.size() > kMostLines) {
      std::size_t more = lines_.size() - kMostLines;
      lines_.resize(kMostLines);
      lines_.push_back(fmt::format("... and {} more", more));
    }
    return lines_;
  }

 private:
  // --retry-failed after the run: on the hosts the rules say did not end ok.
  void judge_retry() {
    std::vector<std::string> hosts;
    for (const std::string& host : rules_.hosts)
      if (auto found = expected_status_.find(host);
          found != expected_status_.end() && found->second != HostStatus::Ok)
        hosts.push_back(host);
    if (hosts.empty()) {
      if (seen_.retry) report("retry", "a retry ran, but every host ended ok");
      return;
    }
    if (!seen_.retry) {
      report("retry", "no retry ran, but " + join(hosts) + " did not end ok");
      return;
    }
    for (const std::string& line : Judge(case_, *seen_.retry, checks_, &hosts).run())
      lines_.push_back("retry " + line);
  }

  void judge_run() {
    if (!seen_.load_errors.empty()) {
      report("load", "the plan was refused: " + join(seen_.load_errors, "; "));
      return;
    }
    if (!judge_refusal()) return;
    if (!seen_.ended) {
      report("hang", seen_.hang.empty() ? "the run did not end" : seen_.hang);
      return;
    }
    read_events();
    choose_run_hosts();
    if (checks_.dry_run_waits && !is_retry_) judge_dry_run();
    if (checks_.graph_edges && !is_retry_) judge_graph();
    expect_jobs();
    order_by_host();
    const bool aborted = judge_budget();
    judge_completeness(aborted);
    if (checks_.changed) judge_changed();
    if (checks_.serial_window) judge_rolling(aborted);
    if (aborted) {
      // An abort depends on timing (which failure comes first): judged by what must hold anyway.
      judge_order();
      judge_aborted_run();
      judged_whole_ = true;
      return;
    }
    derive_outcomes();
    judge_jobs();
    judge_order();
    if (checks_.wave_order) judge_waves();
    if (checks_.named_order) judge_named_order();
    if (checks_.host_order) judge_host_order();
    judge_hosts();
    judged_whole_ = true;
  }

  void report(const std::string& rule, const std::string& text) {
    lines_.push_back(rule + ": " + text);
  }

  // R3: a needed task that --limit leaves without a host is refused before anything connects,
  // naming it; nothing else is refused. Returns whether the run is to be judged further.
  bool judge_refusal() {
    // docs/needs-rules.md D6: only the needs of tasks that still run (local, or with a
    // host left) are checked; a task left without host just does not run.
    std::vector<std::pair<std::string, std::string>> lost;  // (task, its need without host)
    for (const std::string& name : rules_.selected) {
      const TaskSpec& t = rules_.task(name);
      for (const std::string& need : t.needs)
        if (!t.hosts.empty() && rules_.task(need).hosts.empty()) lost.emplace_back(name, need);
    }
    std::string text = join(seen_.refusal, "; ");
    if (is_retry_) {
      const bool none = rules_.run_hosts(true).empty();
      if (none != !seen_.refusal.empty())
        report("R3", none ? "no failed host is targeted any more, but the retry was not refused"
                          : "the retry was refused: " + text);
      return seen_.refusal.empty() && !none;
    }
    if (!rules_.unmatched.empty()) {
      if (text.find(rules_.unmatched.front()) == std::string::npos)
        report("R3",
               fmt::format(
                   "--limit {} matches nothing, but the run was not refused with its name ({})",
                   rules_.unmatched.front(), text.empty() ? "ran" : text));
      return false;
    }
    if (!checks_.refusals) return seen_.refusal.empty();
    if (!seen_.refusal.empty() && lost.empty())
      report("R3", "refused although every needed task has a host: " + text);
    for (const auto& [task, need] : lost) {
      if (seen_.refusal.empty())
        report(
            "R3",
            fmt::format(
                "--limit leaves no host to \"{}\", which \"{}\" needs, and the run was not refused",
                need, task));
      else if (text.find(fmt::format("task \"{}\" needs \"{}\"", task, need)) == std::string::npos)
        report("R3", fmt::format("the refusal does not say that \"{}\" needs \"{}\": {}", task,
                                 need, text));
      else
        judge_refusal_hosts(task, need, text);
    }
    // What a run that should have been refused does is not defined: not judged further.
    return seen_.refusal.empty() && lost.empty();
  }

  // D6: `task "T" needs "N", which runs on HOSTS, but --limit leaves ...`: HOSTS are N's
  // hosts without --limit (for a run_once task, all its targets or the one it would run on).
  void judge_refusal_hosts(const std::string& task, const std::string& need,
                           const std::string& text) {
    const std::string head = fmt::format("task \"{}\" needs \"{}\", which runs on ", task, need);
    std::size_t from = text.find(head);
    if (from == std::string::npos) {
      report("R3", "the refusal does not say where the need runs: " + text);
      return;
    }
    from += head.size();
    std::size_t end = std::min(text.find(", but", from), text.find(" (", from));
    std::set<std::string> got = unfold(text.substr(from, end - from));
    const std::vector<std::string>& all = rules_.task(need).unlimited;
    std::set<std::string> every(all.begin(), all.end());
    std::set<std::string> first;
    if (!all.empty()) first.insert(all.front());
    if (got != every && !(rules_.task(need).run_once && got == first))
      report("R3",
             fmt::format("the refusal names the hosts of \"{}\" as [{}], expected [{}]: {}", need,
                         join(std::vector<std::string>(got.begin(), got.end())), join(all), text));
  }

  void read_events() {
    std::map<std::string, std::optional<std::pair<std::string, int>>> open;  // host -> step running
    for (int i = 0; i < static_cast<int>(seen_.events.size()); ++i) {
      const auto& body = seen_.events[static_cast<std::size_t>(i)].body;
      if (auto* e = std::get_if<RunStart>(&body)) {
        if (i != 0) report("events", "run_start is not the first event");
        run_start_hosts_ = e->hosts;
      } else if (auto* e = std::get_if<StepStart>(&body)) {
        after_host_end(e->host, i);
        if (open[e->host])
          report("events", fmt::format("{}: step_start {} #{} while {} #{} runs", e->host, e->task,
                                       e->step, open[e->host]->first, open[e->host]->second));
        open[e->host] = std::make_pair(e->task, e->step);
        JobSeen& job = jobs_seen_[{e->task, e->host}];
        job.first = std::min(job.first, i);
        job.start = std::min(job.start, i);
      } else if (auto* e = std::get_if<StepEnd>(&body)) {
        after_host_end(e->host, i);
        bool was_open = open[e->host] && *open[e->host] == std::make_pair(e->task, e->step);
        if (was_open) open[e->host].reset();
        if (!was_open && e->status != StepStatus::Skipped)
          report("events", fmt::format("{}: step_end {} #{} {} without its step_start", e->host,
                                       e->task, e->step, to_string(e->status)));
        JobSeen& job = jobs_seen_[{e->task, e->host}];
        if (job.steps.count(e->step) && !job.retrying.count(e->step))
          report("events", fmt::format("{}: two step_end for {} #{}", e->host, e->task, e->step));
        if (e->will_retry)
          job.retrying.insert(e->step);
        else
          job.retrying.erase(e->step);
        job.first = std::min(job.first, i);
        job.end = i;
        job.steps[e->step] = step_status_text(*e);
        job.errors[e->step] = e->error;
        job.changed[e->step] = e->changed;
      } else if (auto* e = std::get_if<HostEnd>(&body)) {
        if (hosts_seen_.count(e->host)) report("events", "two host_end for " + e->host);
        if (open[e->host]) report("events", fmt::format("{}: host_end while a step runs", e->host));
        hosts_seen_[e->host] = HostSeen{i, e->status, e->error};
      } else if (auto* e = std::get_if<RunEnd>(&body)) {
        if (i + 1 != static_cast<int>(seen_.events.size()))
          report("events", "run_end is not the last event");
        run_end_ = *e;
      }
    }
    if (!run_end_) report("events", "no run_end");
  }

  void after_host_end(const std::string& host, int index) {
    if (auto found = hosts_seen_.find(host);
        found != hosts_seen_.end() && found->second.end < index)
      report("events", fmt::format("{}: a step event after its host_end", host));
  }

  // Which hosts the run has: hosts(T) of every task, or also the other targets of run_once
  // tasks (docs/needs-rules.md does not say; either is taken, as long as counts add up to it).
  void choose_run_hosts() {
    std::vector<std::string> exact = rules_.run_hosts(false);
    std::vector<std::string> wide = rules_.run_hosts(true);
    run_hosts_ = exact;
    if (run_start_hosts_ == static_cast<int>(wide.size()) && wide.size() != exact.size())
      run_hosts_ = wide;
    if (run_start_hosts_ != static_cast<int>(run_hosts_.size()))
      report("counts", fmt::format("run_start says {} hosts; the run has {} ({})", run_start_hosts_,
                                   run_hosts_.size(), join(run_hosts_)));
    wave_ = rules_.waves(run_hosts_);
    for (const auto& [host, wave] : wave_) wave_count_ = std::max(wave_count_, wave + 1);
    wave_[kLocal] = kNever;
  }

  void expect_jobs() {
    for (const std::string& name : rules_.selected)
      for (const std::string& host : rules_.task(name).hosts) {
        jobs_.push_back({name, host});
        outcome_[{name, host}] = Outcome::Unknown;
      }
    for (const auto& [job, seen] : jobs_seen_) {
      if (outcome_.count(job)) continue;
      const bool known = contains(rules_.selected, job.first);
      report("jobs", fmt::format("{} ran, but {}", job_name(job),
                                 known ? fmt::format("hosts({}) = [{}]", job.first,
                                                     join(rules_.task(job.first).hosts))
                                       : std::string("the task is not part of the run")));
    }
  }

  /// What --dry-run must print for one wait of a job on other hosts; "" for a per-host need.
  /// A list of several hosts is folded by the summary's rules: only its count is compared.
  std::string wait_line(const std::string& task, const NeedOf& need) const {
    const TaskSpec& n = rules_.task(need.task);
    if (need.kind == NeedKind::PerHost) return "";
    if (need.kind == NeedKind::Barrier)
      return fmt::format("  {} waits for \"{}\" on every host of its wave (barrier)", task,
                         need.task);
    if (n.is_local) return fmt::format("  {} waits for local task \"{}\"", task, need.task);
    if (n.hosts.size() == 1)
      return fmt::format("  {} waits for \"{}\" on {}", task, need.task, n.hosts.front());
    return fmt::format("  {} waits for \"{}\" on {} ({} hosts)", task, need.task, join(n.hosts),
                       n.hosts.size());
  }

  // docs/needs-rules.md D9: under each host (and `local`), before a task's steps, one line
  // per need it waits for on other hosts. Compared as sets per host. Hosts with the very same
  // lines share a block under their folded names (`h[01-02] (2 hosts)`), each one's own name
  // shown `<host>` in its lines.
  void judge_dry_run() {
    std::map<std::string, std::vector<std::string>> seen;  // host -> its wait lines
    std::set<std::string> block;                           // the hosts of the current block
    std::size_t at = 0;
    const std::string& text = seen_.dry_run;
    while (at < text.size()) {
      std::size_t end = text.find('\n', at);
      std::string line = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
      at = end == std::string::npos ? text.size() : end + 1;
      if (!line.empty() && line[0] != ' ') {
        block = unfold(line.substr(0, line.find(' ')));
        for (const std::string& h : block) seen[h];
        continue;
      }
      if (line.find(" waits for ") == std::string::npos) continue;
      // "on h[01-02] (2 hosts)" -> "on h01,h02 (2 hosts)", unfolded in plan order.
      if (std::size_t on = line.rfind(" on "); on != std::string::npos && line.back() == ')' &&
                                               line.find(" hosts)") != std::string::npos &&
                                               line.find("(barrier)") == std::string::npos) {
        std::size_t count = line.rfind(" (");
        std::set<std::string> hosts = unfold(line.substr(on + 4, count - on - 4));
        std::vector<std::string> ordered;
        for (const std::string& h : rules_.hosts)
          if (hosts.count(h)) ordered.push_back(h);
        if (ordered.size() == hosts.size())
          line = line.substr(0, on) + " on " + join(ordered) + line.substr(count);
      }
      for (const std::string& h : block) {
        std::string own = line;
        for (std::size_t mark; (mark = own.find("<host>")) != std::string::npos;)
          own.replace(mark, 6, h);
        seen[h].push_back(own);
      }
    }
    std::map<std::string, std::vector<std::string>> want;
    for (const std::string& name : rules_.selected)
      for (const std::string& h : rules_.task(name).hosts) {
        want[h];
        for (const NeedOf& need : rules_.needs_of(name, h, wave_))
          if (std::string line = wait_line(name, need); !line.empty()) want[h].push_back(line);
      }
    for (auto& [h, lines] : want) {
      std::vector<std::string>& got = seen[h];
      std::sort(lines.begin(), lines.end());
      std::sort(got.begin(), got.end());
      if (got != lines)
        report("dry-run", fmt::format("under {} it shows [{}], expected [{}]", h, join(got, "; "),
                                      join(lines, "; ")));
    }
  }

  // docs/needs-rules.md D9: --graph draws a need bold, labelled "all hosts" when it is an
  // all-host need on at least one host of the task, else "barrier" when it is a barrier need
  // on one, else plain.
  void judge_graph() {
    for (const std::string& name : rules_.selected) {
      for (const std::string& need_name : rules_.task(name).needs) {
        NeedKind kind = NeedKind::PerHost;
        for (const std::string& h : rules_.task(name).hosts)
          for (const NeedOf& need : rules_.needs_of(name, h, wave_))
            if (need.task == need_name) kind = std::max(kind, need.kind);
        const char* style = kind == NeedKind::AllHost   ? " [style=bold, label=\"all hosts\"]"
                            : kind == NeedKind::Barrier ? " [style=bold, label=\"barrier\"]"
                                                        : "";
        std::string edge = fmt::format("  \"{}\" -> \"{}\"", need_name, name);
        std::size_t at = seen_.graph.find(edge + " ");
        if (at == std::string::npos) at = seen_.graph.find(edge + ";");
        std::string got = at == std::string::npos
                              ? "no edge"
                              : seen_.graph.substr(at, seen_.graph.find('\n', at) - at);
        if (got != edge + style + ";")
          report("graph", fmt::format("{} -> {}: --graph shows \"{}\", expected \"{}{};\" ({})",
                                      need_name, name, got, edge, style, kind_name(kind)));
      }
    }
  }

  // issue 17, "Changed": a step_end says changed exactly when the step ended ok and changed
  // its host (every run or local step; a put that wrote).
  void judge_changed() {
    for (const auto& [job, seen] : jobs_seen_) {
      if (!contains(rules_.selected, job.first)) continue;
      for (const auto& [step, status] : seen.steps) {
        if (step < 0 || step >= static_cast<int>(rules_.task(job.first).kinds.size())) continue;
        const bool want = status == "ok" && rules_.changes(job.first, job.second, step);
        const bool got = seen.changed.count(step) && seen.changed.at(step);
        if (got != want)
          report("changed", fmt::format("{} step {} ({} {}) is reported {}changed", job_name(job),
                                        step, rules_.task(job.first).kinds[static_cast<std::size_t>(step)],
                                        status, got ? "" : "not "));
      }
    }
  }

  /// A task's serial or batches amount of its `count` hosts: a count, or a percentage
  /// rounded up; at least one.
  static int amount_of(const Json& amount, int count) {
    if (amount.is_number()) return std::max(1, amount.get<int>());
    return std::max(1, (std::stoi(amount.get<std::string>()) * count + 99) / 100);
  }

  // docs/needs-rules.md D12: at most `serial` of a task's hosts inside it at once (from the
  // first step_start of its job to its last step_end), and its own waves in turn: a job of
  // task wave k+1 starts only after every job of waves up to k has ended. Task waves list the
  // task's hosts by the earliest plan wave that needs the job, then plan order.
  void judge_rolling(bool aborted) {
    std::map<JobKey, int> demand = demand_waves();
    for (const std::string& name : rules_.selected) {
      const TaskSpec& t = rules_.task(name);
      if (t.rolling.empty()) continue;
      const int count = static_cast<int>(t.hosts.size());
      std::vector<std::pair<int, int>> inside;  // (start, end) of each job that ran
      for (const std::string& host : t.hosts)
        if (const JobSeen* seen = seen_job({name, host}); seen && seen->start != kNever)
          inside.emplace_back(seen->start, seen->end);
      if (t.rolling.contains("serial")) {
        const int most = amount_of(t.rolling["serial"], count);
        for (const auto& [start, end] : inside) {
          int at_once = 0;
          for (const auto& [other_start, other_end] : inside)
            at_once += other_start <= start && other_end >= start;
          if (at_once <= most) continue;
          report("serial", fmt::format("{} hosts inside {} at once (event {}), serial allows {}",
                                       at_once, name, start, most));
          break;
        }
      }
      if (!t.rolling.contains("batches")) continue;
      std::vector<std::string> order = t.hosts;  // plan order
      std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
        return demand[{name, a}] < demand[{name, b}];
      });
      const Json& batches = t.rolling["batches"];
      std::map<std::string, int> task_wave;
      std::size_t at = 0;
      for (int w = 0; at < order.size(); ++w) {
        const int size = amount_of(batches[std::min<std::size_t>(w, batches.size() - 1)], count);
        for (int i = 0; i < size && at < order.size(); ++i) task_wave[order[at++]] = w;
      }
      for (const std::string& host : order) {
        const int start = start_of({name, host});
        if (start == kNever) continue;
        for (const std::string& before : order) {
          if (task_wave[before] >= task_wave[host]) continue;
          const JobSeen* seen = seen_job({name, before});
          if (seen ? seen->end < start && seen->end >= 0 : aborted) continue;
          report("batches",
                 fmt::format("{}@{} (task wave {}) started before {}@{} (task wave {}) ended", name,
                             host, task_wave[host] + 1, name, before, task_wave[before] + 1));
          break;
        }
      }
    }
  }

  // Every step of every job has its step_end; after an abort, hosts that never started (or
  // stopped) report only their host_end.
  void judge_completeness(bool aborted) {
    for (const JobKey& job : jobs_) {
      const TaskSpec& t = rules_.task(job.first);
      const JobSeen* seen = seen_job(job);
      int ends = seen ? static_cast<int>(seen->steps.size()) : 0;
      auto host = hosts_seen_.find(job.second);
      if (aborted && host != hosts_seen_.end() && host->second.status == HostStatus::Aborted)
        continue;
      if (ends != static_cast<int>(t.ignore_errors.size()))
        report("events", fmt::format("{}: {} step_end of its {} steps{}", job_name(job), ends,
                                     t.ignore_errors.size(),
                                     ends == 0 ? " (the job was never reported)" : ""));
    }
  }

  const JobSeen* seen_job(const JobKey& job) const {
    auto found = jobs_seen_.find(job);
    return found == jobs_seen_.end() ? nullptr : &found->second;
  }
  int first_event(const JobKey& job) const { return seen_job(job) ? seen_job(job)->first : kNever; }
  int start_of(const JobKey& job) const { return seen_job(job) ? seen_job(job)->start : kNever; }

  // Each host's jobs in the order the host took them up (its first event of each).
  void order_by_host() {
    for (const JobKey& job : jobs_) by_host_[job.second].push_back(job);
    for (auto& [host, jobs] : by_host_)
      std::stable_sort(jobs.begin(), jobs.end(), [&](const JobKey& a, const JobKey& b) {
        return first_event(a) < first_event(b);
      });
  }

  /// What each step of a job that runs ends as ("ok", "failed", "failed-ignored", "skipped"):
  /// a step runs while no step before it failed (without ignore_errors), or after one did when
  /// its condition is failure() or always() (issue 17); `failure_steps` counts those.
  std::vector<std::string> run_steps(const JobKey& job, int* failure_steps = nullptr) const {
    const TaskSpec& t = rules_.task(job.first);
    std::vector<std::string> steps(t.ignore_errors.size(), "skipped");
    bool failed = false;
    int after = 0;
    for (std::size_t step = 0; step < steps.size(); ++step) {
      if (!step_runs(t.when[step], failed)) continue;
      after += failed;
      if (!rules_.fails(job.first, job.second, static_cast<int>(step))) {
        steps[step] = "ok";
      } else if (t.ignore_errors[step]) {
        steps[step] = "failed-ignored";
      } else {
        steps[step] = "failed";
        failed = true;
      }
    }
    if (failure_steps) *failure_steps = after;
    return steps;
  }

  /// The job's outcome if it ran: failed when a step that ran failed without ignore_errors.
  Outcome ran_outcome(const JobKey& job) const {
    const std::vector<std::string> steps = run_steps(job);
    return std::count(steps.begin(), steps.end(), "failed") ? Outcome::Failed : Outcome::Ok;
  }

  // R2 and stop-host, as a fixpoint: a job is skipped when its host is unreachable, when a job
  // its host took up before it failed, or when a need did not succeed where R2 looks; it runs
  // once all of those are known not to hold.
  void derive_outcomes() {
    for (bool changed = true; changed;) {
      changed = false;
      for (const JobKey& job : jobs_) {
        if (outcome_[job] != Outcome::Unknown) continue;
        Outcome next = decide(job);
        if (next == Outcome::Unknown) continue;
        outcome_[job] = next;
        changed = true;
      }
    }
    for (const JobKey& job : jobs_)
      if (outcome_[job] == Outcome::Unknown)
        report("R1", fmt::format("{}: its outcome depends on itself through the order it ran in",
                                 job_name(job)));
  }

  Outcome decide(const JobKey& job) {
    if (job.second != kLocal && rules_.is_unreachable(job.second)) return Outcome::Skipped;
    bool unknown = false;
    for (const JobKey& before : by_host_[job.second]) {
      if (before == job) break;
      if (outcome_[before] == Outcome::Failed) return Outcome::Skipped;
      unknown |= outcome_[before] == Outcome::Unknown;
    }
    for (const NeedOf& need : rules_.needs_of(job.first, job.second, wave_))
      for (const std::string& x : need.skip_hosts) {
        Outcome o = outcome_[{need.task, x}];
        if (o == Outcome::Failed || o == Outcome::Skipped) return Outcome::Skipped;
        unknown |= o == Outcome::Unknown;
      }
    if (unknown) return Outcome::Unknown;
    if (rules_.task(job.first).is_handler) {
      // D17: a handler runs where a step of a notifier changed the host, else is not notified.
      bool notified = false;
      for (const std::string& notifier : rules_.notifiers(job.first)) {
        const JobKey by{notifier, job.second};
        auto o = outcome_.find(by);
        if (o == outcome_.end()) continue;  // the notifier does not run on this host
        if (o->second == Outcome::Unknown) return Outcome::Unknown;
        notified = notified || notifies(by, job.first);
      }
      if (!notified) return Outcome::NotNotified;
    }
    // plan-format.md, "Conditions": a task whose `when` is false is skipped, and counts as done.
    if (rules_.task(job.first).task_when == "false") return Outcome::WhenFalse;
    return ran_outcome(job);
  }

  /// Whether `job` (its outcome known) notified `handler` on its host: a step that names it
  /// ended ok and changed the host.
  bool notifies(const JobKey& job, const std::string& handler) const {
    const TaskSpec& t = rules_.task(job.first);
    const std::vector<std::string> steps = expected_steps(job);
    for (std::size_t step = 0; step < steps.size(); ++step)
      if (steps[step] == "ok" && contains(t.notify[step], handler) &&
          rules_.changes(job.first, job.second, static_cast<int>(step)))
        return true;
    return false;
  }

  /// Why the model expects what it does of a job, for the report.
  std::string why(const JobKey& job) {
    if (job.second != kLocal && rules_.is_unreachable(job.second))
      return job.second + " is unreachable";
    for (const JobKey& before : by_host_[job.second]) {
      if (before == job) break;
      if (outcome_[before] == Outcome::Failed)
        return fmt::format("{} failed before it on {}", before.first, job.second);
    }
    std::vector<std::string> failed = failed_needs(job);
    if (!failed.empty()) return "needs " + join(failed, "; ");
    if (outcome_[job] == Outcome::NotNotified) return "no step of its notifiers changed " + job.second;
    return outcome_[job] == Outcome::Failed ? "a step of it fails" : "its needs succeeded";
  }

  /// Its needs that did not succeed where R2 looks, each as "N (kind, not ok on h1,h2)".
  std::vector<std::string> failed_needs(const JobKey& job) {
    std::vector<std::string> failed;
    for (const NeedOf& need : rules_.needs_of(job.first, job.second, wave_)) {
      std::vector<std::string> where;
      for (const std::string& x : need.skip_hosts) {
        Outcome o = outcome_[{need.task, x}];
        if (o == Outcome::Failed || o == Outcome::Skipped) where.push_back(x);
      }
      if (!where.empty())
        failed.push_back(
            fmt::format("{} ({}, not ok on {})", need.task, kind_name(need.kind), join(where)));
    }
    return failed;
  }

  std::vector<std::string> expected_steps(const JobKey& job) const {
    const TaskSpec& t = rules_.task(job.first);
    std::vector<std::string> steps(t.ignore_errors.size(), "skipped");
    const Outcome outcome = outcome_.at(job);
    if (outcome == Outcome::Skipped || outcome == Outcome::NotNotified ||
        outcome == Outcome::WhenFalse)
      return steps;
    return run_steps(job);
  }

  // R2 exactly: every job ended as the rules require, step by step; skip reasons name the need.
  void judge_jobs() {
    for (const JobKey& job : jobs_) {
      const Outcome expected = outcome_[job];
      if (expected == Outcome::Unknown) continue;
      const JobSeen* seen = seen_job(job);
      std::vector<std::string> want = expected_steps(job);
      std::vector<std::string> got;
      for (std::size_t step = 0; step < want.size(); ++step) {
        std::string status = "missing";
        if (seen)
          if (auto found = seen->steps.find(static_cast<int>(step)); found != seen->steps.end())
            status = found->second;
        got.push_back(status);
      }
      if (got != want) {
        const bool ran = seen && seen->start != kNever;
        const char* rule = expected == Outcome::NotNotified || rules_.task(job.first).is_handler
                               ? "D17"
                           : expected == Outcome::WhenFalse    ? "when"
                           : (expected == Outcome::Skipped) == ran ? "R2"
                                                                   : "steps";
        report(rule,
               fmt::format("{} should be {} [{}] ({}), but was [{}]", job_name(job),
                           outcome_name(expected), join(want, " "), why(job), join(got, " ")));
        continue;
      }
      if (checks_.skip_reasons && expected == Outcome::Skipped && seen)
        judge_skip_reason(job, *seen);
      if (expected == Outcome::NotNotified && seen)
        for (const auto& [step, error] : seen->errors)
          if (error.find("skipped: not notified") == std::string::npos)
            report("D17", fmt::format("{} step {} was skipped with \"{}\", not \"not notified\"",
                                      job_name(job), step, error));
      if ((expected == Outcome::Ok || expected == Outcome::Failed ||
           expected == Outcome::WhenFalse) &&
          seen && checks_.skip_reasons)
        judge_when_reasons(job, *seen, want);
    }
  }

  // plan-format.md, "Conditions": a step skipped in a job that ran (or a task whose own when
  // is false) says why: its when is false, or an earlier step of the task failed.
  void judge_when_reasons(const JobKey& job, const JobSeen& seen,
                          const std::vector<std::string>& want) {
    const TaskSpec& t = rules_.task(job.first);
    for (std::size_t step = 0; step < want.size(); ++step) {
      if (want[step] != "skipped") continue;
      auto found = seen.errors.find(static_cast<int>(step));
      const std::string error = found == seen.errors.end() ? "" : found->second;
      const std::string& when = outcome_[job] == Outcome::WhenFalse ? t.task_when : t.when[step];
      const std::string said = fmt::format("skipped: when \"{}\" is false", when);
      if (error.find(said) != std::string::npos ||
          (outcome_[job] != Outcome::WhenFalse &&
           error.find("skipped: an earlier step failed") != std::string::npos))
        continue;
      report("when-reason",
             fmt::format("{} step {} (when \"{}\") was skipped with \"{}\", which says neither "
                         "\"{}\" nor that an earlier step failed",
                         job_name(job), step, when, error, said));
    }
  }

  /// Skipped because a need failed, and for no other reason (host unreachable, or stopped).
  bool skipped_by_need(const JobKey& job) {
    if (outcome_[job] != Outcome::Skipped) return false;
    if (job.second != kLocal && rules_.is_unreachable(job.second)) return false;
    for (const JobKey& before : by_host_[job.second]) {
      if (before == job) break;
      if (outcome_[before] == Outcome::Failed) return false;
    }
    return true;
  }

  // R2 and docs/needs-rules.md D4: a job skipped because a need failed says which one:
  // `a task it needs failed: N` (per-host, barrier), `local task "N" failed`, or
  // `"N" failed on HOSTS (K hosts)` (all-host; the count only when K > 1).
  void judge_skip_reason(const JobKey& job, const JobSeen& seen) {
    if (!skipped_by_need(job)) return;
    std::vector<std::vector<std::string>> accepted;  // any one of these, all of its parts
    for (const NeedOf& need : rules_.needs_of(job.first, job.second, wave_)) {
      std::vector<std::string> where;
      for (const std::string& x : need.skip_hosts)
        if (!succeeded(outcome_[{need.task, x}])) where.push_back(x);
      if (where.empty()) continue;
      if (need.kind != NeedKind::AllHost)
        accepted.push_back({"a task it needs failed: " + need.task});
      else if (rules_.task(need.task).is_local)
        accepted.push_back({"local task \"" + need.task + "\" failed"});
      else if (where.size() == 1)
        accepted.push_back({"\"" + need.task + "\" failed on " + where.front()});
      else
        accepted.push_back({"\"" + need.task + "\" failed on ",
                            fmt::format(" ({} hosts)", where.size()), "=" + join(where)});
    }
    for (const auto& [step, error] : seen.errors) {
      // A part "=h1,h2" is the host list after the first part, unfolded.
      auto has = [&](const std::vector<std::string>& parts, const std::string& part) {
        if (part[0] != '=') return error.find(part) != std::string::npos;
        std::size_t from = error.find(parts.front()) + parts.front().size();
        std::string list = error.substr(from, error.find(" (", from) - from);
        std::vector<std::string> want;
        for (std::size_t at = 1, comma; at <= part.size(); at = comma + 1) {
          comma = part.find(',', at);
          if (comma == std::string::npos) comma = part.size();
          want.push_back(part.substr(at, comma - at));
        }
        return unfold(list) == std::set<std::string>(want.begin(), want.end());
      };
      bool said =
          std::any_of(accepted.begin(), accepted.end(), [&](const std::vector<std::string>& parts) {
            return std::all_of(parts.begin(), parts.end(),
                               [&](const std::string& part) { return has(parts, part); });
          });
      if (said) continue;
      std::vector<std::string> wanted;
      for (const auto& parts : accepted) wanted.push_back(join(parts, "..."));
      report("R2-reason", fmt::format("{} step {} was skipped with \"{}\", which says none of: {}",
                                      job_name(job), step, error, join(wanted, " | ")));
      return;
    }
  }

  // R1: a job that ran started after every job its needs make it wait for had ended.
  void judge_order() {
    for (const JobKey& job : jobs_) {
      const int start = start_of(job);
      if (start == kNever) continue;
      for (const NeedOf& need : rules_.waits_of(job.first, job.second, wave_))
        for (const std::string& x : need.order_hosts) {
          const JobSeen* before = seen_job({need.task, x});
          if (before && before->end >= 0 && before->end < start) continue;
          report("R1", fmt::format("{} started before {}@{} ended ({})", job_name(job), need.task,
                                   x, kind_name(need.kind)));
        }
    }
  }

  // The earliest wave that waits for each job: its host's, or that of a job that needs it
  // (R1: what an earlier wave needs runs ahead of its host's wave, and only that does).
  std::map<JobKey, int> demand_waves() {
    std::map<JobKey, int> demand;
    for (const JobKey& job : jobs_)
      demand[job] = wave_.count(job.second) ? wave_[job.second] : kNever;
    // One wave: every job is due in it, local ones too (wip-graph 1c57a05; D2 read so).
    if (wave_count_ <= 1) {
      for (auto& [job, wave] : demand) wave = 0;
      return demand;
    }
    for (bool changed = true; changed;) {
      changed = false;
      for (const JobKey& job : jobs_)
        for (const NeedOf& need : rules_.waits_of(job.first, job.second, wave_))
          for (const std::string& x : need.order_hosts) {
            auto found = demand.find({need.task, x});
            if (found == demand.end() || found->second <= demand[job]) continue;
            found->second = demand[job];
            changed = true;
          }
    }
    return demand;
  }

  // Rolling waves: a job starts only once every host of the waves before the earliest wave
  // that needs it has ended.
  void judge_waves() {
    std::map<JobKey, int> demand = demand_waves();
    for (const JobKey& job : jobs_) {
      const int start = start_of(job);
      if (start == kNever || job.second == kLocal) continue;
      for (const std::string& host : run_hosts_) {
        if (wave_[host] >= demand[job]) continue;
        auto end = hosts_seen_.find(host);
        if (end == hosts_seen_.end() || end->second.end < start) continue;
        report("waves",
               fmt::format(
                   "{} (wave {}) started before {} (wave {}) ended, and no job of wave {} needs it",
                   job_name(job), wave_[job.second] + 1, host, wave_[host] + 1, wave_[host] + 1));
        break;
      }
    }
  }

  // R5: named tasks run in command-line order on each host, unless a need of a task named
  // before pulls the later one ahead.
  void judge_named_order() {
    std::map<JobKey, int> demand = demand_waves();
    const std::vector<std::string>& names = rules_.names;
    for (std::size_t i = 0; i < names.size(); ++i)
      for (std::size_t j = i + 1; j < names.size(); ++j) {
        const std::string& a = names[i];
        const std::string& b = names[j];
        if (!contains(rules_.selected, a) || !contains(rules_.selected, b)) continue;
        // A need of a task named earlier (or of `a` itself) comes first, wherever it is named.
        bool pulled = false;
        for (std::size_t k = 0; k <= i; ++k) pulled = pulled || rules_.reaches(names[k], b);
        if (pulled) continue;
        for (const auto& [host, jobs] : by_host_) {
          JobKey ja{a, host}, jb{b, host};
          if (!outcome_.count(ja) || !outcome_.count(jb) || demand[ja] != demand[jb]) continue;
          if (start_of(ja) == kNever || start_of(jb) == kNever || start_of(ja) < start_of(jb))
            continue;
          report("R5", fmt::format("{} ran before {} on {}, but the command line names {} first", b,
                                   a, host, a));
        }
      }
  }

  // docs/needs-rules.md D2 and D8: each host starts its jobs in the order of (the earliest
  // wave that needs them, task order).
  void judge_host_order() {
    std::map<JobKey, int> demand = demand_waves();
    std::map<std::string, int> order = rules_.task_order();
    auto key = [&](const JobKey& job) { return std::make_pair(demand[job], order[job.first]); };
    for (const auto& [host, jobs] : by_host_) {
      std::vector<JobKey> started;
      for (const JobKey& job : jobs)
        if (start_of(job) != kNever) started.push_back(job);
      std::sort(started.begin(), started.end(),
                [&](const JobKey& a, const JobKey& b) { return start_of(a) < start_of(b); });
      for (std::size_t i = 1; i < started.size(); ++i) {
        const JobKey& before = started[i - 1];
        const JobKey& after = started[i];
        if (key(before) <= key(after)) continue;
        report("order",
               fmt::format(
                   "{} started {} before {}, but the task order (after jobs an earlier wave needs) "
                   "puts {} first",
                   host, before.first, after.first, after.first));
      }
    }
  }

  /// Whether the run ended aborted; checks that it did exactly when its failures exceeded the
  /// plan's budget (plan-format.md, failure budgets): policy.max_failures failed or
  /// unreachable hosts (a percentage of the run's hosts, rounded up) are tolerated, none
  /// under on_failure abort. Skipped hosts and local tasks count against no budget.
  bool judge_budget() {
    if (!run_end_) return false;
    const bool aborted = run_end_->status == RunStatus::Aborted;
    // Each failed host counts once, against the budget of the task it failed in if that task
    // has one, else the plan's; an unreachable host against the plan's.
    int failures = 0;
    std::map<std::string, int> task_failures;
    for (const auto& [host, seen] : hosts_seen_) {
      if (host == kLocal) continue;
      if (seen.status == HostStatus::Unreachable) ++failures;
      if (seen.status != HostStatus::Failed) continue;
      std::string failed_in;
      for (const JobKey& job : by_host_[host]) {
        const JobSeen* ran = seen_job(job);
        if (ran && std::any_of(ran->steps.begin(), ran->steps.end(),
                               [](const auto& step) { return step.second == "failed"; })) {
          failed_in = job.first;
          break;
        }
      }
      if (!failed_in.empty() && rules_.has_budget(failed_in))
        ++task_failures[failed_in];
      else
        ++failures;
    }
    const int tolerated = rules_.tolerated_failures(static_cast<int>(run_hosts_.size()));
    bool exceeded = failures > tolerated;
    std::string why = fmt::format("{} failed or unreachable hosts against the plan's budget of {}",
                                  failures, tolerated);
    for (const auto& [task, count] : task_failures) {
      exceeded = exceeded || count > rules_.task_tolerated(task);
      why += fmt::format(", {} against {}'s of {}", count, task, rules_.task_tolerated(task));
    }
    if (aborted != exceeded)
      report("budget", fmt::format("the run ended {} with {}", to_string(run_end_->status), why));
    if (aborted && run_end_->exit_code != 3)
      report("exit", fmt::format("an aborted run exits {}, not 3", run_end_->exit_code));
    return aborted;
  }

  /// A job that ran and succeeded (ignored failures included).
  bool seen_ok(const JobKey& job) const {
    const JobSeen* seen = seen_job(job);
    if (seen == nullptr) return false;
    // A step its when skipped (or the task's own when) is no failure (issue 17).
    auto when_skipped = [&](int step) {
      auto found = seen->errors.find(step);
      return found != seen->errors.end() &&
             found->second.find("skipped: when \"") != std::string::npos;
    };
    if (seen->start == kNever)  // D17: a handler not notified succeeded without running
      return !seen->errors.empty() &&
             std::all_of(seen->errors.begin(), seen->errors.end(), [&](const auto& step) {
               return (rules_.task(job.first).is_handler &&
                       step.second.find("skipped: not notified") != std::string::npos) ||
                      when_skipped(step.first);
             });
    return std::all_of(seen->steps.begin(), seen->steps.end(),
                       [&](const auto& step) {
                         return step.second == "ok" || step.second == "failed-ignored" ||
                                (step.second == "skipped" && when_skipped(step.first));
                       }) &&
           seen->steps.size() == rules_.task(job.first).ignore_errors.size();
  }

  // An aborted run: what ran, ran as the rules allow and as its injected failures say (its
  // last steps may be skipped by the abort); a host is ok only if every job of it ran ok, and
  // skipped only if none failed; the counts add up.
  void judge_aborted_run() {
    for (const JobKey& job : jobs_) {
      const JobSeen* seen = seen_job(job);
      if (seen == nullptr || seen->start == kNever) continue;
      outcome_[job] = ran_outcome(job);
      std::vector<std::string> want = expected_steps(job);
      bool stopped = false;
      for (std::size_t step = 0; step < want.size(); ++step) {
        auto found = seen->steps.find(static_cast<int>(step));
        std::string got = found == seen->steps.end() ? "missing" : found->second;
        stopped = stopped || (got == "skipped" && want[step] != "skipped");
        if (got != want[step] && !(stopped && got == "skipped"))
          report("steps", fmt::format("{} ran [{}] in an aborted run; its failures say [{}]",
                                      job_name(job), got, join(want, " ")));
      }
      for (const NeedOf& need : rules_.needs_of(job.first, job.second, wave_))
        for (const std::string& x : need.skip_hosts)
          if (!seen_ok({need.task, x}))
            report("R2", fmt::format("{} ran, but {}@{} did not succeed ({})", job_name(job),
                                     need.task, x, kind_name(need.kind)));
    }
    StatusCounts tally;
    for (const std::string& host : run_hosts_) {
      auto seen = hosts_seen_.find(host);
      if (seen == hosts_seen_.end()) {
        report("R4", "no host_end for " + host);
        continue;
      }
      tally.add(seen->second.status);
      expected_status_[host] = seen->second.status;  // what a retry retries
      for (const JobKey& job : by_host_[host]) {
        if (seen->second.status == HostStatus::Ok && !seen_ok(job))
          report("R4", fmt::format("{} ended ok, but {} did not run ok", host, job.first));
        const JobSeen* ran = seen_job(job);
        if (seen->second.status == HostStatus::Skipped && ran && ran->start != kNever &&
            !seen_ok(job))
          report("R4", fmt::format("{} ended skipped, but {} failed there", host, job.first));
      }
    }
    const StatusCounts& c = run_end_->counts;
    if (c.ok != tally.ok || c.failed != tally.failed || c.unreachable != tally.unreachable ||
        c.skipped != tally.skipped || c.aborted != tally.aborted ||
        c.ok + c.failed + c.unreachable + c.skipped + c.aborted != run_start_hosts_)
      report("counts", "run_end counts differ from the host_end events or the run's hosts");
  }

  // R4 and docs/needs-rules.md D5: a skipped host says why, with the reason of its first
  // job skipped because a need failed.
  void judge_host_reason(const std::string& host, const std::string& error) {
    for (const JobKey& job : by_host_[host]) {
      if (!skipped_by_need(job)) continue;
      const JobSeen* seen = seen_job(job);
      if (seen == nullptr || seen->errors.empty()) return;
      const std::string& step_error = seen->errors.begin()->second;
      if (error.empty() || step_error.find(error) == std::string::npos)
        report(
            "R4-reason",
            fmt::format(
                "{} ended skipped with \"{}\", not the reason of its first skipped job {} (\"{}\")",
                host, error, job_name(job), step_error));
      return;
    }
  }

  // plan-format.md, "Status functions": a failed host's error is its first failed step's, and
  // says how many failure steps ran after it (`; 2 failure steps ran`).
  void judge_failure_steps(const std::string& host, const std::string& error) {
    for (const JobKey& job : by_host_[host]) {
      if (outcome_[job] != Outcome::Failed) continue;
      int ran = 0;
      const std::vector<std::string> steps = run_steps(job, &ran);
      const JobSeen* seen = seen_job(job);
      const auto first = std::find(steps.begin(), steps.end(), "failed");
      const int step = static_cast<int>(first - steps.begin());
      if (seen && seen->errors.count(step) && error.rfind(seen->errors.at(step), 0) != 0)
        report("failure-steps",
               fmt::format("{} ended failed with \"{}\", not the error of {} step {} (\"{}\")",
                           host, error, job.first, step, seen->errors.at(step)));
      const std::string suffix =
          ran == 0 ? "" : fmt::format("; {} failure step{} ran", ran, ran == 1 ? "" : "s");
      const bool says = suffix.empty() ? error.find("failure step") == std::string::npos
                                       : error.size() >= suffix.size() &&
                                             error.compare(error.size() - suffix.size(),
                                                           suffix.size(), suffix) == 0;
      if (!says)
        report("failure-steps",
               fmt::format("{} ended failed with \"{}\"; after {} failed, {} failure steps ran",
                           host, error, job.first, ran));
      return;
    }
  }

  // R4: each host's one word; the counts add up; the exit code.
  void judge_hosts() {
    std::map<std::string, std::vector<JobKey>> host_jobs;
    for (const JobKey& job : jobs_) host_jobs[job.second].push_back(job);
    bool all_ok = true;
    StatusCounts tally;
    for (const std::string& host : run_hosts_) {
      auto seen = hosts_seen_.find(host);
      if (seen == hosts_seen_.end()) {
        report("R4", "no host_end for " + host);
        all_ok = false;
        continue;
      }
      tally.add(seen->second.status);
      std::vector<JobKey>& jobs = host_jobs[host];
      if (jobs.empty()) {
        // Targeted by a run_once task that ran elsewhere: nothing to do there.
        if (seen->second.status != HostStatus::Ok && seen->second.status != HostStatus::Unreachable)
          report("R4",
                 fmt::format("{} has no job but ended {}", host, to_string(seen->second.status)));
        expected_status_[host] = seen->second.status;
        all_ok = all_ok && seen->second.status == HostStatus::Ok;
        continue;
      }
      HostStatus want = HostStatus::Ok;
      std::string because;
      for (const JobKey& job : jobs) {
        if (outcome_[job] == Outcome::Failed)
          want = HostStatus::Failed, because = job.first + " failed";
        if (outcome_[job] == Outcome::Skipped && want == HostStatus::Ok)
          want = HostStatus::Skipped, because = job.first + " skipped: " + why(job);
      }
      if (rules_.is_unreachable(host)) want = HostStatus::Unreachable, because = "unreachable";
      expected_status_[host] = want;
      all_ok = all_ok && want == HostStatus::Ok;
      if (seen->second.status != want)
        report("R4", fmt::format("{} ended {}, expected {} ({})", host,
                                 to_string(seen->second.status), to_string(want), because));
      else if (want == HostStatus::Failed)
        judge_failure_steps(host, seen->second.error);
      else if (want == HostStatus::Skipped && checks_.skip_reasons)
        judge_host_reason(host, seen->second.error);
    }
    for (const auto& [host, seen] : hosts_seen_)
      if (host != kLocal && !contains(run_hosts_, host))
        report("R4", "host_end for " + host + ", not a host of the run");
    bool has_local =
        std::any_of(jobs_.begin(), jobs_.end(), [](const JobKey& j) { return j.second == kLocal; });
    if (has_local != (hosts_seen_.count(kLocal) > 0))
      report("R4", has_local ? "no host_end for the local tasks"
                             : "host_end for local, but no task is local");
    for (const JobKey& job : jobs_)
      if (job.second == kLocal) all_ok = all_ok && succeeded(outcome_[job]);
    if (!run_end_) return;
    const StatusCounts& c = run_end_->counts;
    int sum = c.ok + c.failed + c.unreachable + c.skipped + c.aborted;
    if (sum != run_start_hosts_ || c.ok != tally.ok || c.failed != tally.failed ||
        c.unreachable != tally.unreachable || c.skipped != tally.skipped ||
        c.aborted != tally.aborted)
      report("counts",
             fmt::format(
                 "run_end counts ok {} failed {} unreachable {} skipped {} aborted {} (sum {}); "
                 "host_end says ok {} failed {} unreachable {} skipped {} aborted {}; run_start {}",
                 c.ok, c.failed, c.unreachable, c.skipped, c.aborted, sum, tally.ok, tally.failed,
                 tally.unreachable, tally.skipped, tally.aborted, run_start_hosts_));
    const int want_exit = all_ok ? 0 : 1;
    if (run_end_->exit_code != want_exit ||
        run_end_->status != (all_ok ? RunStatus::Ok : RunStatus::Failed))
      report("exit",
             fmt::format("run_end {} exit {}, expected {} exit {}", to_string(run_end_->status),
                         run_end_->exit_code, all_ok ? "ok" : "failed", want_exit));
  }

  const Case& case_;
  Rules rules_;
  const Observation& seen_;
  Checks checks_;
  bool is_retry_ = false;
  bool judged_whole_ = false;
  std::map<std::string, HostStatus> expected_status_;  ///< what each host of the run must end as
  std::vector<std::string> lines_;

  int run_start_hosts_ = -1;
  std::optional<RunEnd> run_end_;
  std::map<JobKey, JobSeen> jobs_seen_;
  std::map<std::string, HostSeen> hosts_seen_;
  std::vector<std::string> run_hosts_;
  std::map<std::string, int> wave_;
  int wave_count_ = 0;
  std::vector<JobKey> jobs_;  ///< every job of the run, task by task in document order
  std::map<JobKey, Outcome> outcome_;
  std::map<std::string, std::vector<JobKey>> by_host_;
};

}  // namespace

std::vector<std::string> check(const Case& c, const Observation& seen, const Checks& checks) {
  return Judge(c, seen, checks).run();
}

}  // namespace deployd::model
