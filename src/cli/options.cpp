// SPDX-License-Identifier: MIT
// CLI11 -> Options. Usage errors come back as exit status 2 with one line of text.
#include "cli/options.hpp"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "cli/retry_args.hpp"

namespace deployd::cli {
namespace {

constexpr const char* kVersion = "deployd " DEPLOYD_VERSION;  // meson.build's project version

struct VarTexts {
  std::vector<std::string> values;  ///< --var NAME=VALUE or NAME=@FILE
  std::vector<std::string> envs;    ///< --var-env NAME=ENVVAR
  std::string batches;              ///< --batches LIST, parsed once the rest is
};

void add_options(CLI::App& app, Options& options, VarTexts& var_texts) {
  app.add_option("plan", options.plan_path, "the JSON plan to run")->required();
  app.add_option("tasks", options.tasks, "tasks to run with their needs (default: the `default` tasks, else all)");
  app.add_option("-H,--hosts", options.hosts,
                 "run remote tasks on these hosts instead of their targets (@FILE: the hosts "
                 "FILE lists, one a line)")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--limit", options.limit, "only hosts or groups matching these globs")
      ->delimiter(',')
      ->allow_extra_args(false);
  // allow_extra_args(false): one value per occurrence, so `-i inv.json deploy` leaves `deploy`
  // to the task list (CLI11 lets a vector option swallow every following word by default).
  app.add_option("--var", var_texts.values,
                 "set a variable, NAME=VALUE, or NAME=@FILE for the file's text (repeatable)")
      ->allow_extra_args(false);
  // Secrets stay out of the process list: `ps` shows the name of the variable, not its value.
  app.add_option("--var-env", var_texts.envs,
                 "set a variable from an environment variable, NAME=ENVVAR (repeatable)")
      ->allow_extra_args(false);
  app.add_option("-i,--inventory", options.inventories,
                 "hosts, groups, defaults and vars to add to the plan: JSON, or an Ansible INI or "
                 "YAML inventory (repeatable; default: $DEPLOYD_INVENTORY)")
      ->allow_extra_args(false);
  app.add_flag("-l,--list", options.list, "list tasks with their descriptions and needs");
  app.add_flag("-n,--dry-run", options.dry_run, "print what would run on each host, without connecting");
  app.add_flag("--graph", options.graph, "print the task graph in Graphviz dot");
  // For the bash completion (docs/deployd.bash): no group, so --help does not list it.
  app.add_flag("--task-names", options.task_names, "print the plan's task names, one a line")->group("");
  app.add_flag("-q,--quiet", options.quiet, "print only the summary at the end");
  app.add_flag("-v,--verbose", options.verbose,
               "log connection phases and timings to stderr; with --dry-run, each host's connection "
               "values and where they come from");
  std::map<std::string, OutputMode> outputs{{"stream", OutputMode::Stream},
                                            {"group", OutputMode::Group},
                                            {"json", OutputMode::Json}};
  app.add_option("--output", options.output, "stream (prefixed lines), group, or json (JSON Lines events)")
      ->transform(CLI::CheckedTransformer(outputs));
  std::map<std::string, ColorMode> colors{
      {"auto", ColorMode::Auto}, {"always", ColorMode::Always}, {"never", ColorMode::Never}};
  app.add_option("--color", options.color, "colour output: auto (a terminal without NO_COLOR), always, never")
      ->transform(CLI::CheckedTransformer(colors));
  app.add_option("-f,--forks", options.forks, "most hosts worked on at once (overrides policy.forks)")
      ->check(CLI::PositiveNumber);
  app.add_option("--batches", var_texts.batches,
                 "rolling waves for this run instead of policy.batches: counts and percentages, "
                 "e.g. 1,25%,100%");
  app.add_option("--log-dir", options.log_dir, "where run logs go (default: .deployd/runs beside the plan)");
  app.add_flag("--retry-failed", options.retry_failed,
               "rerun the failed, unreachable and aborted hosts of the plan's last run "
               "(--retry-failed RUN_ID: of that run)");
  app.add_option(
      "-F,--ssh-config", options.ssh_config,
      "OpenSSH client config to read instead of ~/.ssh/config (or the plan's ssh_config)");
  app.add_option("--report", options.report_file,
                 "write the run's self-contained HTML report to FILE at its end (also when interrupted)");
  app.add_option("--junit", options.junit_file,
                 "write a JUnit XML report (a test case per host and task) to FILE at the run's end");
  app.add_option("--output-dir", options.output_dir,
                 "write each host's stdout and stderr to DIR/HOST.out and DIR/HOST.err (as pssh -o/-e)");
  app.set_version_flag("--version", kVersion);
  app.footer(
      "Recorded runs, after the fact: deployd runs [PLAN]; deployd show RUN --html FILE | --timeline | "
      "--output stream|group (deployd show --help)");
}

// The text of a --var @FILE, without one trailing newline (as `register` takes a command's).
std::optional<std::string> read_var_file(const std::string& path, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read \"" + path + "\": " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::string value = text.str();
  if (value.ends_with('\n')) value.pop_back();
  if (value.ends_with('\r')) value.pop_back();
  return value;
}

// --var NAME=VALUE (NAME=@FILE: the file's text; NAME=@@x: the value `@x`) and --var-env
// NAME=ENVVAR. NAME is checked with the plan (load.cpp); one name is set one way only.
std::optional<std::string> parse_vars(const VarTexts& texts, VarMap& vars) {
  std::map<std::string, std::string> given;  // name -> the option that set it
  auto take = [](const std::string& text) -> std::optional<std::pair<std::string, std::string>> {
    const std::size_t equals = text.find('=');
    if (equals == 0 || equals == std::string::npos) return std::nullopt;
    return std::pair(text.substr(0, equals), text.substr(equals + 1));
  };
  for (const std::string& text : texts.values) {
    auto pair = take(text);
    if (!pair) return "--var: expected NAME=VALUE or NAME=@FILE, got \"" + text + "\"";
    auto& [name, value] = *pair;
    if (value.starts_with("@@")) {
      value.erase(0, 1);
    } else if (value.starts_with("@")) {
      std::string error;
      std::optional<std::string> read = read_var_file(value.substr(1), error);
      if (!read) return "--var " + name + "=" + value + ": " + error;
      value = std::move(*read);
    }
    given[name] = "--var";
    vars[name] = std::move(value);
  }
  for (const std::string& text : texts.envs) {
    auto pair = take(text);
    if (!pair || pair->second.empty()) return "--var-env: expected NAME=ENVVAR, got \"" + text + "\"";
    const auto& [name, variable] = *pair;
    if (given.count(name)) return "--var-env " + text + ": " + name + " is already set by " + given[name];
    const char* value = std::getenv(variable.c_str());
    if (value == nullptr)
      return "--var-env " + text + ": environment variable \"" + variable + "\" is not set";
    given[name] = "--var-env";
    vars[name] = value;
  }
  return std::nullopt;
}

// --batches 1,25%,100%: what `policy.batches` holds, as one list; each size a count of at least
// one or a percentage from 1% to 100%.
std::optional<std::string> parse_batches(const std::string& text, std::vector<Amount>& batches) {
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ',')) {
    const bool is_percent = item.ends_with('%');
    const std::string digits = is_percent ? item.substr(0, item.size() - 1) : item;
    int value = 0;
    auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    const bool is_ok = !digits.empty() && error == std::errc() &&
                       end == digits.data() + digits.size() && value >= 1 &&
                       (!is_percent || value <= 100);
    if (!is_ok)
      return "--batches " + text + ": bad size \"" + item +
             "\" (expected counts of at least 1 and percentages like 25%, separated by commas)";
    batches.push_back(Amount{value, is_percent});
  }
  if (batches.empty() || text.ends_with(','))
    return "--batches " + text +
           ": expected counts and percentages separated by commas, e.g. 1,25%,100%";
  return std::nullopt;
}

}  // namespace

ParseResult parse_command_line(int argc, const char* const* argv) {
  CLI::App app{"deployd: run a JSON plan of tasks on many hosts at once over SSH", "deployd"};
  Options options;
  VarTexts var_texts;
  add_options(app, options, var_texts);
  RetryArgs retry = take_retry_args(std::vector<std::string>(argv, argv + argc));
  if (!retry.error.empty()) return ParseResult{std::nullopt, 2, retry.error};
  options.retry_run_id = retry.run_id;
  std::vector<const char*> args;
  for (const std::string& arg : retry.args) args.push_back(arg.c_str());
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::CallForHelp&) {
    return ParseResult{std::nullopt, 0, app.help()};
  } catch (const CLI::CallForVersion&) {
    return ParseResult{std::nullopt, 0, std::string(kVersion) + "\n"};
  } catch (const CLI::ParseError& error) {
    return ParseResult{std::nullopt, 2, error.what()};
  }
  if (std::optional<std::string> error = parse_vars(var_texts, options.vars))
    return ParseResult{std::nullopt, 2, *error};
  if (!var_texts.batches.empty()) {
    options.batches.emplace();
    if (std::optional<std::string> error = parse_batches(var_texts.batches, *options.batches))
      return ParseResult{std::nullopt, 2, *error};
  }
  if (options.quiet && options.output == OutputMode::Json)
    return ParseResult{std::nullopt, 2, "--quiet prints only the summary, which --output json has not"};
  return ParseResult{std::move(options), 0, ""};
}

std::optional<std::string> use_default_inventory(Options& options) {
  const char* path = std::getenv("DEPLOYD_INVENTORY");
  if (!options.inventories.empty() || !path || !*path) return std::nullopt;
  // The loader's "cannot read inventory" would not say where a path nobody typed came from.
  std::error_code code;
  if (!std::filesystem::exists(path, code))
    return std::string("DEPLOYD_INVENTORY=") + path + ": no such file (unset it, or set it empty)";
  options.inventories.push_back(path);
  if (options.verbose)
    std::fprintf(stderr, "deployd: inventory %s (from DEPLOYD_INVENTORY)\n", path);
  return std::nullopt;
}

}  // namespace deployd::cli
