// SPDX-License-Identifier: MIT
// Random model cases and their shrinking (see case_generator.hpp).
#include "model/case_generator.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>

namespace deployd::model {
namespace {

/// The switches by name, for DEPLOYD_MODEL_FEATURES and for describe().
std::vector<std::pair<std::string, bool*>> switches(Features& f) {
  return {{"local", &f.local},
          {"run_once", &f.run_once},
          {"barrier", &f.barrier},
          {"cross_group", &f.cross_group},
          {"waves", &f.waves},
          {"limit", &f.limit},
          {"named", &f.named},
          {"defaults", &f.defaults},
          {"failures", &f.failures},
          {"ignore_errors", &f.ignore_errors},
          {"unreachable", &f.unreachable},
          {"forks", &f.forks},
          {"sessions", &f.sessions},
          {"retry", &f.retry},
          {"budgets", &f.budgets},
          {"retries", &f.retries},
          {"group_forms", &f.group_forms},
          {"handlers", &f.handlers},
          {"puts", &f.puts},
          {"serial", &f.serial},
          {"when", &f.when},
          {"skip_reasons", &f.checks.skip_reasons},
          {"wave_order", &f.checks.wave_order},
          {"named_order", &f.checks.named_order},
          {"host_order", &f.checks.host_order},
          {"refusals", &f.checks.refusals},
          {"dry_run_waits", &f.checks.dry_run_waits},
          {"graph_edges", &f.checks.graph_edges},
          {"changed", &f.checks.changed},
          {"serial_window", &f.checks.serial_window}};
}

// splitmix64: nearby seeds give unrelated cases.
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

class Random {
 public:
  explicit Random(std::uint64_t seed) : engine_(mix(seed)) {}
  int between(int low, int high) { return std::uniform_int_distribution<int>(low, high)(engine_); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(engine_) < p; }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    return items[static_cast<std::size_t>(between(0, static_cast<int>(items.size()) - 1))];
  }
  template <typename T>
  void shuffle(std::vector<T>& items) {
    std::shuffle(items.begin(), items.end(), engine_);
  }

 private:
  std::mt19937_64 engine_;
};

std::string host_name(int i) { return fmt::format("h{:02}", i + 1); }

bool contains_string(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

std::string apply_features(std::string_view spec, Features& features) {
  std::string unknown;
  std::size_t at = 0;
  while (at <= spec.size()) {
    std::size_t comma = spec.find(',', at);
    std::string word(
        spec.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at));
    at = comma == std::string_view::npos ? spec.size() + 1 : comma + 1;
    if (word.empty()) continue;
    bool on = word[0] != '-';
    if (word[0] == '-' || word[0] == '+') word.erase(0, 1);
    bool known = false;
    for (auto& [name, flag] : switches(features)) {
      if (word == name || word == "all" || word == "none") {
        *flag = word == "none" ? !on : on;
        known = true;
      }
    }
    if (!known) unknown += (unknown.empty() ? "" : ",") + word;
  }
  return unknown;
}

std::string describe(const Features& features) {
  Features copy = features;
  std::string text;
  for (auto& [name, flag] : switches(copy))
    text += (text.empty() ? "" : " ") + (*flag ? name : "-" + name);
  return text;
}

Case generate(std::uint64_t seed, const Features& f) {
  Random random(seed);
  Case c;
  Json& plan = c.plan;
  plan["version"] = 1;

  // Mostly small plans, whose failures are easy to read; now and then a bigger one, with
  // more waves and more hosts waiting on each other.
  const bool big = random.chance(0.1);
  const int host_count = big ? random.between(9, 16) : random.between(1, 8);
  std::vector<std::string> hosts;
  for (int i = 0; i < host_count; ++i) hosts.push_back(host_name(i));
  plan["hosts"] = hosts;

  // Overlapping groups, none empty.
  std::vector<std::string> groups;
  Json group_json = Json::object();
  for (int g = 0, count = random.between(1, big ? 5 : 3); g < count; ++g) {
    std::vector<std::string> members;
    for (const std::string& host : hosts)
      if (random.chance(0.5)) members.push_back(host);
    if (members.empty()) members.push_back(random.pick(hosts));
    // Groups of groups (never a cycle: only groups made before), members in any order.
    if (f.group_forms && !groups.empty() && random.chance(0.2))
      members.push_back(random.pick(groups));
    random.shuffle(members);
    std::string name = fmt::format("g{}", g + 1);
    groups.push_back(name);
    group_json[name] = members;
  }
  plan["groups"] = group_json;
  // A host object may add itself to a group of its own ("groups" of a host).
  if (f.group_forms && random.chance(0.15)) {
    Json objects = Json::array();
    for (const std::string& host : hosts) {
      if (!random.chance(0.4)) {
        objects.push_back(host);
        continue;
      }
      objects.push_back(Json{{"name", host}, {"groups", {"gh"}}});
      if (!contains_string(groups, "gh")) groups.push_back("gh");
    }
    plan["hosts"] = objects;
  }

  // Tasks in document order; needs follow a random order of them, so the graph is a DAG
  // whose order is not the document's.
  const int task_count = big ? random.between(5, 9) : random.between(1, 6);
  std::vector<int> order(static_cast<std::size_t>(task_count));
  for (int t = 0; t < task_count; ++t) order[static_cast<std::size_t>(t)] = t;
  random.shuffle(order);
  std::vector<std::string> targets = groups;
  targets.insert(targets.end(), hosts.begin(), hosts.end());
  Json tasks = Json::object();
  std::vector<bool> is_local(static_cast<std::size_t>(task_count));
  // Handlers (issue 17): a step notifies only handlers later in `order`, as needs name only
  // earlier tasks, so that no cycle runs through notify and needs (D19).
  std::vector<bool> is_handler(static_cast<std::size_t>(task_count));
  const bool with_handlers = f.handlers && random.chance(0.4);
  for (int t = 0; t < task_count; ++t) {
    is_local[static_cast<std::size_t>(t)] = f.local && random.chance(0.15);
    is_handler[static_cast<std::size_t>(t)] = with_handlers && random.chance(0.35);
  }
  auto notifiable = [&](int t) {  // the handlers a step of t may notify
    std::vector<std::string> names;
    auto position = std::find(order.begin(), order.end(), t);
    for (auto later = position + 1; later != order.end(); ++later)
      if (is_handler[static_cast<std::size_t>(*later)] &&
          is_local[static_cast<std::size_t>(*later)] == is_local[static_cast<std::size_t>(t)])
        names.push_back(fmt::format("t{}", *later));
    return names;
  };
  for (int t = 0; t < task_count; ++t) {
    Json task = Json::object();
    const bool handler = is_handler[static_cast<std::size_t>(t)];
    if (handler) task["handler"] = true;
    std::vector<std::string> needs;
    auto position = std::find(order.begin(), order.end(), t) - order.begin();
    for (auto earlier = order.begin(); earlier != order.begin() + position; ++earlier)
      if (needs.size() < 3 && random.chance(0.35)) needs.push_back(fmt::format("t{}", *earlier));
    if (!needs.empty()) task["needs"] = needs;
    if (is_local[static_cast<std::size_t>(t)]) {
      task["on"] = "local";
    } else if (f.cross_group) {
      double roll = random.between(0, 99) / 100.0;
      if (roll < 0.15) {
        task["on"] = "all";
      } else if (roll < 0.6) {
        task["on"] = random.pick(groups);
      } else if (roll < 0.8) {
        std::string first = random.pick(targets);
        std::string second = random.pick(targets);
        task["on"] = first == second ? Json(first) : Json(std::vector<std::string>{first, second});
      } else {
        task["on"] = random.pick(hosts);
      }
    }
    if (!is_local[static_cast<std::size_t>(t)]) {
      // A handler cannot be run_once (D19).
      if (f.run_once && !handler && random.chance(0.2)) task["run_once"] = true;
      if (f.barrier && random.chance(0.2)) task["barrier"] = true;
      // A budget of the task's own (plan-format.md, failure budgets).
      if (f.budgets && random.chance(0.07))
        task["policy"] = random.chance(0.4) ? Json{{"on_failure", "abort"}}
                                            : Json{{"max_failures", random.between(0, 1)}};
      // Rolling one task (D12): a window, the task's own waves, or both.
      if (f.serial && !task.contains("run_once") && random.chance(0.15)) {
        Json own = task.value("policy", Json::object());
        if (random.chance(0.7))
          own["serial"] = random.chance(0.7) ? Json(random.between(1, 2)) : Json("50%");
        if (own.empty() || random.chance(0.4))
          own["batches"] = random.chance(0.5) ? Json{1, "50%"} : Json{random.between(1, 2)};
        task["policy"] = own;
      }
    }
    if (f.defaults && !handler && random.chance(0.1)) task["default"] = true;
    if (f.when && !handler && random.chance(0.06)) task["when"] = random.chance(0.7) ? "false" : "true";
    const std::vector<std::string> handlers = notifiable(t);
    Json steps = Json::array();
    for (int s = 0, count = random.between(1, 3); s < count; ++s) {
      Json step = Json::object();
      if (is_local[static_cast<std::size_t>(t)])
        step["local"] = "true";
      else if (f.puts && random.chance(0.2))
        step = Json{{"put", "model.txt"}, {"to", fmt::format("/tmp/t{}-{}.put", t, s)}};
      else
        step["run"] = fmt::format("run t{}#{}.", t, s);  // unique: the fake transport matches it
      if (f.ignore_errors && random.chance(0.1)) step["ignore_errors"] = true;
      // issue 17, conditions: constants and the status functions; failure() and always()
      // steps run after a failing step of their task.
      if (f.when && random.chance(0.25))
        step["when"] = random.pick(
            std::vector<std::string>{"true", "false", "success()", "failure()", "always()"});
      if (!handlers.empty() && random.chance(0.4))
        step["notify"] = random.chance(0.7) ? Json(random.pick(handlers))
                                            : Json(std::vector<std::string>{random.pick(handlers),
                                                                            random.pick(handlers)});
      steps.push_back(step);
    }
    task["steps"] = steps;
    tasks[fmt::format("t{}", t)] = task;
  }
  plan["tasks"] = tasks;

  Json policy = Json::object();
  if (f.forks && random.chance(0.5)) policy["forks"] = random.between(1, 3);
  if (f.waves && random.chance(0.4)) {
    Json batches = Json::array();
    for (int b = 0, count = random.between(1, 3); b < count; ++b) {
      if (random.chance(0.6))
        batches.push_back(random.between(1, 3));
      else
        batches.push_back(fmt::format("{}%", random.pick(std::vector<int>{20, 34, 50, 67})));
    }
    policy["batches"] = batches;
  }
  const bool flaky = f.retries && random.chance(0.2);
  if (flaky) {
    policy["retries"] = random.between(0, 2);
    policy["retry_delay"] = "0s";  // the fake transport needs no pause, and the test no timer
  }
  if (f.budgets && random.chance(0.15)) {
    if (random.chance(0.3))
      policy["on_failure"] = "abort";
    else if (random.chance(0.6))
      policy["max_failures"] = random.between(0, 2);
    else
      policy["max_failures"] = fmt::format("{}%", random.pick(std::vector<int>{10, 34}));
  }
  if (!policy.empty()) plan["policy"] = policy;

  if (f.named && random.chance(0.3)) {
    std::vector<std::string> names;
    for (int t = 0; t < task_count; ++t) names.push_back(fmt::format("t{}", t));
    random.shuffle(names);
    names.resize(static_cast<std::size_t>(random.between(1, std::min(3, task_count))));
    c.names = names;
  }
  if (f.limit && random.chance(0.25)) {
    for (int p = 0, count = random.between(1, 2); p < count; ++p) {
      int roll = random.between(0, 9);
      c.limit.push_back(roll < 5 ? random.pick(hosts) : roll < 9 ? random.pick(groups) : "h0[1-3]");
    }
  }
  if (f.failures) {
    double rate = random.pick(std::vector<double>{0.0, 0.03, 0.1, 0.25});
    for (int t = 0; t < task_count; ++t) {
      std::vector<std::string> where =
          is_local[static_cast<std::size_t>(t)] ? std::vector<std::string>{"local"} : hosts;
      const int steps = static_cast<int>(tasks[fmt::format("t{}", t)]["steps"].size());
      for (const std::string& host : where)
        for (int s = 0; s < steps; ++s) {
          if (!random.chance(rate)) continue;
          // A flaky remote step fails its first attempt or two, then succeeds.
          const bool put = tasks[fmt::format("t{}", t)]["steps"][static_cast<std::size_t>(s)]
                               .contains("put");
          const int attempts = flaky && host != "local" && !put && random.chance(0.6)
                                   ? random.between(1, 2)
                                   : 0;
          c.fail.push_back(fail_text({fmt::format("t{}", t), host, s, attempts}));
        }
    }
  }
  for (int t = 0; t < task_count && f.puts; ++t) {
    const Json& steps = tasks[fmt::format("t{}", t)]["steps"];
    for (std::size_t s = 0; s < steps.size(); ++s)
      if (steps[s].contains("put"))
        for (const std::string& host : hosts)
          if (random.chance(0.4))
            c.unchanged.push_back(fail_text({fmt::format("t{}", t), host, static_cast<int>(s), 0}));
  }
  if (f.unreachable && random.chance(0.2))
    for (const std::string& host : hosts)
      if (random.chance(0.25)) c.unreachable.push_back(host);
  if (f.sessions && random.chance(0.15)) c.sessions = random.between(1, 3);
  // --retry-failed after the run (with the same --limit), some failures fixed meanwhile.
  if (f.retry && random.chance(0.25)) {
    c.retry = true;
    for (const std::string& point : c.fail)
      if (random.chance(0.5)) c.retry_fail.push_back(point);
    for (const std::string& host : c.unreachable)
      if (random.chance(0.5)) c.retry_unreachable.push_back(host);
  }
  return c;
}

namespace {

void erase_value(Json& list, const std::string& value) {
  if (!list.is_array()) return;
  Json kept = Json::array();
  for (const Json& item : list)
    if (item != value) kept.push_back(item);
  list = kept;
}

void erase_string(std::vector<std::string>& list, const std::string& value) {
  std::erase(list, value);
}

// A host of the plan's list: a name, or an object with one.
std::string host_of(const Json& host) {
  return host.is_string() ? host.get<std::string>() : host.at("name").get<std::string>();
}

// Removes a host or group name from every place a case names it.
Case without_target(Case c, const std::string& name, bool is_host) {
  if (is_host) {
    Json kept = Json::array();
    for (const Json& host : c.plan["hosts"])
      if (host_of(host) != name) kept.push_back(host);
    c.plan["hosts"] = kept;
    for (auto* hosts : {&c.unreachable, &c.retry_unreachable}) erase_string(*hosts, name);
    for (auto* fails : {&c.fail, &c.retry_fail, &c.unchanged})
      std::erase_if(*fails, [&](const std::string& text) { return parse_fail(text).host == name; });
    if (c.plan.contains("groups"))
      for (auto& [group, members] : c.plan["groups"].items()) erase_value(members, name);
  } else if (c.plan.contains("groups")) {
    c.plan["groups"].erase(name);
  }
  erase_string(c.limit, name);
  for (auto& [task, body] : c.plan["tasks"].items()) {
    if (!body.contains("on")) continue;
    if (body["on"] == name) body["on"] = "all";
    erase_value(body["on"], name);
    if (body["on"].is_array() && body["on"].empty()) body["on"] = "all";
  }
  return c;
}

Case without_task(Case c, const std::string& name) {
  c.plan["tasks"].erase(name);
  for (auto& [task, body] : c.plan["tasks"].items()) {
    if (body.contains("needs")) {
      erase_value(body["needs"], name);
      if (body["needs"].empty()) body.erase("needs");
    }
    for (Json& step : body["steps"])
      if (step.contains("notify")) {
        if (step["notify"] == name) step.erase("notify");
        else erase_value(step["notify"], name);
        if (step.contains("notify") && step["notify"].empty()) step.erase("notify");
      }
  }
  erase_string(c.names, name);
  for (auto* fails : {&c.fail, &c.retry_fail, &c.unchanged})
    std::erase_if(*fails, [&](const std::string& text) { return parse_fail(text).task == name; });
  return c;
}

Case without_step(Case c, const std::string& task, int step) {
  Json& steps = c.plan["tasks"][task]["steps"];
  steps.erase(static_cast<std::size_t>(step));
  for (auto* fails : {&c.fail, &c.retry_fail, &c.unchanged}) {
    std::vector<std::string> kept;
    for (const std::string& text : *fails) {
      FailPoint point = parse_fail(text);
      if (point.task == task && point.step == step) continue;
      if (point.task == task && point.step > step) --point.step;
      kept.push_back(fail_text(point));
    }
    *fails = kept;
  }
  return c;
}

// Every case one removal smaller than `c`, the biggest removals first.
std::vector<Case> smaller(const Case& c) {
  std::vector<Case> out;
  std::vector<std::string> task_names;
  for (const auto& [name, body] : c.plan["tasks"].items()) task_names.push_back(name);
  if (task_names.size() > 1)
    for (const std::string& name : task_names) out.push_back(without_task(c, name));
  if (c.plan["hosts"].size() > 1)
    for (const Json& host : c.plan["hosts"]) out.push_back(without_target(c, host_of(host), true));
  if (c.plan.contains("groups"))
    for (const auto& [group, members] : c.plan["groups"].items())
      out.push_back(without_target(c, group, false));
  if (c.retry) {
    Case d = c;
    d.retry = false;
    d.retry_fail.clear();
    d.retry_unreachable.clear();
    out.push_back(d);
  }
  for (auto list : {&Case::fail, &Case::unreachable, &Case::names, &Case::limit, &Case::retry_fail,
                    &Case::retry_unreachable, &Case::unchanged})
    for (std::size_t i = 0; i < (c.*list).size(); ++i) {
      Case d = c;
      (d.*list).erase((d.*list).begin() + static_cast<std::ptrdiff_t>(i));
      out.push_back(d);
    }
  for (const std::string& name : task_names) {
    const Json& body = c.plan["tasks"][name];
    for (const Json& need : body.value("needs", Json::array())) {
      Case d = c;
      erase_value(d.plan["tasks"][name]["needs"], need.get<std::string>());
      out.push_back(d);
    }
    for (int step = static_cast<int>(body["steps"].size()) - 1;
         step >= 0 && body["steps"].size() > 1; --step)
      out.push_back(without_step(c, name, step));
    for (const char* flag : {"run_once", "barrier", "default", "policy", "when"})
      if (body.contains(flag)) {
        Case d = c;
        d.plan["tasks"][name].erase(flag);
        out.push_back(d);
      }
    for (std::size_t step = 0; step < body["steps"].size(); ++step)
      for (const char* key : {"ignore_errors", "notify", "when"})
        if (body["steps"][step].contains(key)) {
          Case d = c;
          d.plan["tasks"][name]["steps"][step].erase(key);
          out.push_back(d);
        }
    if (body.contains("policy"))
      for (const auto& [key, value] : body["policy"].items()) {
        Case d = c;
        d.plan["tasks"][name]["policy"].erase(key);
        if (d.plan["tasks"][name]["policy"].empty()) d.plan["tasks"][name].erase("policy");
        out.push_back(d);
      }
    if (body.contains("on") && body["on"] != "all" && body["on"] != "local") {
      Case d = c;
      d.plan["tasks"][name]["on"] = "all";
      out.push_back(d);
    }
  }
  if (c.plan.contains("policy")) {
    for (const auto& [key, value] : c.plan["policy"].items()) {
      Case d = c;
      d.plan["policy"].erase(key);
      if (d.plan["policy"].empty()) d.plan.erase("policy");
      out.push_back(d);
    }
    if (c.plan["policy"].contains("batches") && c.plan["policy"]["batches"].size() > 1) {
      Case d = c;
      d.plan["policy"]["batches"].erase(d.plan["policy"]["batches"].size() - 1);
      out.push_back(d);
    }
  }
  if (c.sessions > 0) {
    Case d = c;
    d.sessions = 0;
    out.push_back(d);
  }
  return out;
}

}  // namespace

Case shrink(const Case& failing, const std::function<bool(const Case&)>& still_fails, int budget) {
  Case best = failing;
  for (bool progressed = true; progressed && budget > 0;) {
    progressed = false;
    for (const Case& candidate : smaller(best)) {
      if (--budget < 0) break;
      if (!still_fails(candidate)) continue;
      best = candidate;
      progressed = true;
      break;
    }
  }
  return best;
}

}  // namespace deployd::model
