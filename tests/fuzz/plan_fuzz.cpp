// SPDX-License-Identifier: MIT
// Fuzz target: whole plan documents through parse_plan, as `deployd plan.json` reads them.
// parse_plan must never throw, must give either a plan or located errors, and a plan it gives
// must hold what validation promises (names resolve, templates are well formed).
#include <algorithm>
#include <cstdint>
#include <exception>
#include <set>
#include <string>
#include <string_view>

#include "deployd/load.hpp"
#include "fuzz_check.hpp"
#include "plan/host_pattern.hpp"
#include "plan/vars.hpp"
#include "utf8_model.hpp"

namespace {

using namespace deployd;

constexpr const char* kFile = "plan.json";

// Hermetic: no ~/.ssh/config, no environment; `-F /dev/null` also overrides any ssh_config path
// the plan names, and imports and templates are not read, so an input never reads a file of the
// machine (transfer sources are only stat()ed, relative to the current folder).
LoadOptions fuzz_options() {
  LoadOptions options;
  options.controller_user = "fuzz";
  options.home = "/nonexistent-fuzz-home";
  options.ssh_config = "/dev/null";
  options.read_imports = false;  // an imported file would be read from the machine
  options.read_templates = false;  // so would a template file
  return options;
}

LoadResult load(std::string_view text) {
  try {
    return parse_plan(text, kFile, fuzz_options());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "parse_plan threw: %s\n", e.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "parse_plan threw a non-exception\n");
    std::abort();
  }
}

void check_errors(std::string_view text, const LoadResult& result) {
  FUZZ_CHECK(result.errors.size() <= LoadResult::kMaxErrors);
  FUZZ_CHECK(std::is_sorted(result.errors.begin(), result.errors.end()));
  const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
  for (const Diagnostic& error : result.errors) {
    FUZZ_CHECK(!error.message.empty());
    FUZZ_CHECK(error.line >= 0 && error.line <= lines);
    FUZZ_CHECK(error.column >= 0);
    FUZZ_CHECK(error.json_pointer.empty() || error.json_pointer.front() == '/');
    // Errors go to the terminal: what they quote of the input must not be able to drive it.
    const std::string text = error.to_string();
    FUZZ_CHECK(deployd::fuzz::is_valid_utf8(text));
    for (std::size_t at = 0; at < text.size(); at += deployd::fuzz::decode_utf8(text, at).length) {
      const std::uint32_t code_point = deployd::fuzz::decode_utf8(text, at).code_point;
      FUZZ_CHECK(code_point >= 0x20 && (code_point < 0x7F || code_point > 0x9F));
    }
  }
}

void check_template(const std::string& text) { FUZZ_CHECK(plan::template_error(text).empty()); }

// What a loaded plan promises the graph, the scheduler and the engine.
void check_plan(const Plan& plan) {
  std::set<std::string> hosts;
  for (const Host& host : plan.hosts) {
    FUZZ_CHECK(plan::is_valid_name(host.name));
    FUZZ_CHECK(hosts.insert(host.name).second);
    FUZZ_CHECK(host.port >= 1 && host.port <= 65535);
    FUZZ_CHECK(!host.address.empty());
  }
  // find_host is a linear search: check a few, so a 100000-host range stays a linear test.
  for (std::size_t i = 0; i < plan.hosts.size(); i += 1 + plan.hosts.size() / 16)
    FUZZ_CHECK(plan.find_host(plan.hosts[i].name) == &plan.hosts[i]);
  for (const auto& [group, members] : plan.groups)
    for (const std::string& member : members) FUZZ_CHECK(hosts.count(member) == 1);
  std::set<std::string> tasks;
  for (const Task& task : plan.tasks) FUZZ_CHECK(tasks.insert(task.name).second);
  for (const Task& task : plan.tasks) {
    if (plan.tasks.size() <= 64) FUZZ_CHECK(plan.find_task(task.name) == &task);
    for (const std::string& need : task.needs) FUZZ_CHECK(tasks.count(need) == 1);
    for (const std::string& host : task.hosts) FUZZ_CHECK(hosts.count(host) == 1);
    if (task.is_local) FUZZ_CHECK(task.hosts.empty());
    for (const Step& step : task.steps) {
      check_template(step.command);
      check_template(step.to);
      check_template(step.cwd);
      for (const auto& [name, value] : step.env) check_template(value);
      FUZZ_CHECK(!step.json_pointer.empty() && step.json_pointer.front() == '/');
    }
  }
  FUZZ_CHECK(plan.policy.forks >= 1 && plan.policy.max_connecting >= 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const LoadResult result = load(text);
  FUZZ_CHECK(result.plan.has_value() == result.errors.empty());
  check_errors(text, result);
  if (result.plan) check_plan(*result.plan);

  // Loading is a function of the text: a second load says the same.
  const LoadResult again = load(text);
  FUZZ_CHECK(again.errors.size() == result.errors.size());
  for (std::size_t i = 0; i < again.errors.size(); ++i)
    FUZZ_CHECK(again.errors[i].to_string() == result.errors[i].to_string());
  FUZZ_CHECK(again.plan.has_value() == result.plan.has_value());
  return 0;
}
