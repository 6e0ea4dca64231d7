// SPDX-License-Identifier: MIT
// --list and --dry-run text.
#include "cli/inspect.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_set>

#include "base/duration_text.hpp"
#include "base/host_ranges.hpp"
#include "engine/engine.hpp"
#include "engine/file_diff.hpp"
#include "engine/folder_diff.hpp"
#include "engine/step_text.hpp"
#include "graph/task_graph.hpp"
#include "plan/conditions.hpp"
#include "plan/suggest.hpp"
#include "plan/vars.hpp"

namespace deployd::cli {
namespace {

std::string targets(const Task& task) {
  if (task.is_local) return "local";
  return fmt::format("{}", fmt::join(task.on, ", "));
}

// How `when` decides the step on this host, as far as the plan tells before the run: skipped,
// decided by registered values or by failures, or nothing when it runs.
std::string when_note(const Task& task, const Step& step, const plan::VarContext& vars) {
  std::vector<Condition> when = step.when;
  if (task.when) when.insert(when.begin(), *task.when);
  if (when.empty() || vars.host == nullptr) return "";
  auto texts = [&] {
    std::vector<std::string> quoted;
    for (const Condition& condition : when) quoted.push_back(plan::quote(condition.text));
    return fmt::format("{}", fmt::join(quoted, " and "));
  };
  if (plan::decides_after_failure(when)) return fmt::format("  (when {})", texts());
  const plan::WhenVerdict verdict = plan::check_when(when, vars, false);
  if (verdict.runs) return "";
  if (!verdict.missing.empty())
    return fmt::format("  (when {}: decided when the run runs)", texts());
  return verdict.error.empty() ? fmt::format("  (skipped: {})", verdict.reason)
                               : fmt::format("  (would fail: {})", verdict.error);
}

std::string step_line(const Task& task, std::size_t index, const Step& step, plan::VarContext vars,
                      bool show_files = false) {
  vars.delegate = step.delegate_to;
  std::string command =
      step.hides_command() ? engine::hidden_label(step) : plan::interpolate(step.command, vars).text;
  // issue 17: the item of a for_each copy, as the run's output names it.
  const std::string item = step.item_label.empty() ? "" : " [" + step.item_label + "]";
  vars.loop = &step.loop_vars;
  command = step.hides_command() ? command : plan::interpolate(step.command, vars).text;
  // issue 19: a transfer says where it goes, and with which mode.
  const bool is_transfer =
      step.kind == StepKind::Put || step.kind == StepKind::Get || step.kind == StepKind::Template;
  if (is_transfer && !step.hides_command()) {
    const char* verb = step.kind == StepKind::Put   ? "put"
                       : step.kind == StepKind::Get ? "get"
                                                    : "template";
    command = fmt::format("{} {} -> {}", verb, command, plan::interpolate(step.to, vars).text);
    if (step.mode) command += fmt::format(" (mode {})", *step.mode);
  }
  std::string line = fmt::format("  {} step {}{}: {}", task.name, index + 1, item, command);
  if (!step.cwd.empty()) line += fmt::format("  (in {})", plan::interpolate(step.cwd, vars).text);
  if (step.sudo_user)
    line += step.sudo_user->empty() ? "  (sudo)" : fmt::format("  (sudo -u {})", *step.sudo_user);
  if (!step.delegate_to.empty()) line += fmt::format("  (on {})", step.delegate_to);
  if (step.creates)
    line += fmt::format("  (unless {} exists)", plan::interpolate(*step.creates, vars).text);
  if (step.removes)
    line += fmt::format("  (if {} exists)", plan::interpolate(*step.removes, vars).text);
  if (!step.notify.empty()) line += fmt::format("  (notifies {})", fmt::join(step.notify, ", "));
  if (!step.loop_skip.empty()) line += fmt::format("  (skipped: {})", step.loop_skip);
  if (step.loop_skip.empty()) line += when_note(task, step, vars);
  if (task.is_handler) line += "  (if notified)";
  line += "\n";
  // issue 18: --show-files, what the step would install on this host.
  const bool installs = step.kind == StepKind::Template || step.kind == StepKind::Put;
  if (show_files && installs && vars.host) {
    engine::PlannedFile file = engine::planned_file(*vars.plan, *vars.host, step, vars.run_id);
    line += file.bytes       ? engine::content_lines(*file.bytes)
            : file.is_folder ? engine::folder_contents(file.source)
                             : fmt::format("    ({})\n", file.note);
  }
  return line;
}

// -v: every connection value of the host and where it came from (plan-format.md, precedence).
std::string connection_lines(const Host& host) {
  auto source = [&](const char* key) {
    auto found = host.sources.find(key);
    return found == host.sources.end() ? std::string("default") : found->second;
  };
  const char* modes[] = {"strict", "accept-new", "off"};
  const std::vector<std::pair<const char*, std::string>> values = {
      {"address", host.address},
      {"port", std::to_string(host.port)},
      {"user", host.user},
      {"identity", host.identities.empty() ? "(agent, then ~/.ssh/id_*)"
                                           : fmt::format("{}", fmt::join(host.identities, ", "))},
      {"identities_only", host.identities_only ? "yes" : "no"},
      {"known_hosts", host.known_hosts},
      {"host_key_check", modes[static_cast<int>(host.host_key_check)]},
      {"connect_timeout", base::duration_text(host.connect_timeout)},
      {"keepalive", base::duration_text(host.keepalive)},
      {"via", host.via.empty() ? "(direct)" : fmt::format("{}", fmt::join(host.via, ", "))},
      {"password_env", host.password_env.empty() ? "(none)" : host.password_env},
      {"passphrase_env", host.passphrase_env.empty() ? "(none)" : host.passphrase_env},
      {"ssh_config", host.ssh_config.empty() ? "(not read)" : host.ssh_config},
  };
  std::string out;
  for (const auto& [key, value] : values)
    out += fmt::format("    {:<16} {}  ({})\n", key + std::string(":"), value, source(key));
  return out;
}

// `text` with every `host` in it written <host>, as group mode's headings write it: what hosts
// that differ only by their name share.
std::string with_host_placeholder(std::string text, const std::string& host) {
  constexpr std::string_view kPlaceholder = "<host>";
  for (std::size_t at = text.find(host); !host.empty() && at != std::string::npos;
       at = text.find(host, at + kPlaceholder.size()))
    text.replace(at, host.size(), kPlaceholder);
  return text;
}

// The hosts a task runs on in this run: the first only for run_once.
std::vector<std::string> run_targets(const Task& task) {
  if (task.run_once && !task.hosts.empty()) return {task.hosts.front()};
  return task.hosts;
}

// plan-format.md, needs: what a task waits for on other hosts before it starts on this one.
std::string wait_line(const Task& task, const Task& need, graph::NeedWait wait) {
  if (wait == graph::NeedWait::Barrier)
    return fmt::format("  {} waits for \"{}\" on every host of its wave (barrier)\n", task.name, need.name);
  if (need.is_local) return fmt::format("  {} waits for local task \"{}\"\n", task.name, need.name);
  std::vector<std::string> hosts = run_targets(need);
  std::string where = base::compress_hosts(hosts);
  if (hosts.size() != 1) where += fmt::format(" ({} hosts)", hosts.size());
  return fmt::format("  {} waits for \"{}\" on {}\n", task.name, need.name, where);
}

// The lines of one task's waits on a host (`host` null: the controller).
std::string wait_lines(const Plan& plan, const Task& task, const std::string* host,
                       const std::vector<std::unordered_set<std::string_view>>& targets,
                       const std::vector<const Task*>& tasks) {
  std::string out;
  for (const std::string& name : task.needs) {
    const Task* need = plan.find_task(name);
    bool runs_need = false;
    for (std::size_t t = 0; t < tasks.size(); ++t)
      if (tasks[t] == need) runs_need = host != nullptr && targets[t].count(*host) > 0;
    graph::NeedWait wait = graph::need_wait(task, *need, runs_need);
    if (wait != graph::NeedWait::PerHost) out += wait_line(task, *need, wait);
  }
  return out;
}

}  // namespace

std::string list_tasks(const Plan& plan) {
  std::string out;
  if (!plan.description.empty()) out += plan.description + "\n\n";
  // With no host at all (an inventory not given), a task's host count is not known yet.
  const bool knows_hosts = !plan.hosts.empty();
  for (const Task& task : plan.tasks) {
    out += fmt::format("{}{}", task.name, task.is_default ? " (default)" : "");
    if (!task.description.empty()) out += fmt::format("  {}", task.description);
    out += fmt::format("\n    on: {}", targets(task));
    if (!task.is_local && knows_hosts)
      out += fmt::format(" ({} host{})", task.hosts.size(), task.hosts.size() == 1 ? "" : "s");
    if (!task.needs.empty()) out += fmt::format("; needs: {}", fmt::join(task.needs, ", "));
    out += "\n";
  }
  return out;
}

std::string list_hosts(const Plan& plan, const std::vector<const Task*>& tasks) {
  std::vector<std::string> names;
  for (const Host* host : engine::run_hosts(plan, tasks)) names.push_back(host->name);
  std::string out;
  if (!names.empty())
    out += fmt::format("{} ({} host{})\n", base::compress_hosts(names), names.size(),
                       names.size() == 1 ? "" : "s");
  if (std::any_of(tasks.begin(), tasks.end(), [](const Task* task) { return task->is_local; }))
    out += "local (this machine)\n";
  if (out.empty()) out = "no host\n";
  return out;
}

std::string dry_run(const Plan& plan, const std::vector<const Task*>& tasks,
                    const std::string& run_id, bool verbose, bool show_files) {
  std::string out;
  // Local tasks run once, on the controller, with no host variables.
  std::string local;
  std::vector<std::unordered_set<std::string_view>> targets;  // per task: a set, not a search
  for (const Task* task : tasks) {
    auto end = task->run_once && !task->hosts.empty() ? task->hosts.begin() + 1 : task->hosts.end();
    targets.emplace_back(task->hosts.begin(), end);  // run_once: its first host only
  }
  plan::VarContext controller{&plan, nullptr, nullptr, run_id};
  for (const Task* task : tasks)
    if (task->is_local) {
      local += wait_lines(plan, *task, nullptr, targets, tasks);
      for (std::size_t i = 0; i < task->steps.size(); ++i) local += step_line(*task, i, task->steps[i], controller);
    }
  if (!local.empty()) out += "local (this machine)\n" + local;
  // issue 19: hosts that would run the same steps, but for their own name, fold into one block
  // as group mode folds them (`node[001-030] (30 hosts)`, their name shown as <host>); -v
  // keeps one block per host, for its connection values.
  struct Block {
    std::vector<const Host*> hosts;
    std::string body;
  };
  std::vector<Block> blocks;
  std::map<std::string, std::size_t> block_of;  // body with {{host}} -> its block
  for (const Host* host : engine::run_hosts(plan, tasks)) {
    std::string body;
    if (verbose) body += "  connection:\n" + connection_lines(*host);
    plan::VarContext vars{&plan, host, nullptr, run_id};
    for (std::size_t t = 0; t < tasks.size(); ++t) {
      if (!targets[t].count(host->name)) continue;
      // issue 17: a list in host or group vars gives each host its own items.
      std::optional<Task> own;
      if (tasks[t]->has_host_items()) own = tasks[t]->on_host(host->name);
      const Task* task = own ? &*own : tasks[t];
      body += wait_lines(plan, *task, &host->name, targets, tasks);
      for (std::size_t i = 0; i < task->steps.size(); ++i)
        body += step_line(*task, i, task->steps[i], vars, show_files);
    }
    std::string shape =
        verbose ? host->name + "\n" + body : with_host_placeholder(body, host->name);
    auto [found, is_new] = block_of.try_emplace(std::move(shape), blocks.size());
    if (is_new) blocks.push_back(Block{{}, std::move(body)});
    blocks[found->second].hosts.push_back(host);
  }
  for (const Block& block : blocks) {
    if (block.hosts.size() == 1) {
      const Host& host = *block.hosts.front();
      out += fmt::format("{} ({}@{}:{})\n{}", host.name, host.user, host.address, host.port,
                         block.body);
      continue;
    }
    std::vector<std::string> names;
    for (const Host* host : block.hosts) names.push_back(host->name);
    out += fmt::format("{} ({} hosts)\n{}", base::compress_hosts(names), names.size(),
                       with_host_placeholder(block.body, block.hosts.front()->name));
  }
  return out;
}

}  // namespace deployd::cli
