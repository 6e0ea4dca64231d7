// SPDX-License-Identifier: MIT
// CLI11 -> Options. Usage errors come back as exit status 2 with one line of text.
#include "cli/options.hpp"

#include <CLI/CLI.hpp>
#include <map>

#include "cli/retry_args.hpp"

namespace deployd::cli {
namespace {

constexpr const char* kVersion = "deployd " DEPLOYD_VERSION;  // meson.build's project version

void add_options(CLI::App& app, Options& options, std::vector<std::string>& var_texts) {
  app.add_option("plan", options.plan_path, "the JSON plan to run")->required();
  app.add_option("tasks", options.tasks, "tasks to run with their needs (default: the `default` tasks, else all)");
  app.add_option("-H,--hosts", options.hosts, "run remote tasks on these hosts instead of their targets")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--limit", options.limit, "only hosts or groups matching these globs")
      ->delimiter(',')
      ->allow_extra_args(false);
  // allow_extra_args(false): one value per occurrence, so `-i inv.json deploy` leaves `deploy`
  // to the task list (CLI11 lets a vector option swallow every following word by default).
  app.add_option("--var", var_texts, "set a variable, NAME=VALUE (repeatable)")
      ->allow_extra_args(false);
  app.add_option("-i,--inventory", options.inventories,
                 "JSON file of hosts, groups, defaults and vars to add to the plan (repeatable)")
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
  app.add_option("--log-dir", options.log_dir, "where run logs go (default: .deployd/runs beside the plan)");
  app.add_flag("--retry-failed", options.retry_failed,
               "rerun the failed, unreachable and aborted hosts of the plan's last run "
               "(--retry-failed RUN_ID: of that run)");
  app.add_option(
      "-F,--ssh-config", options.ssh_config,
      "OpenSSH client config to read instead of ~/.ssh/config (or the plan's ssh_config)");
  app.add_option("--report", options.report_file,
                 "write the run's self-contained HTML report to FILE at its end (also when interrupted)");
  app.set_version_flag("--version", kVersion);
  app.footer("A recorded run, after the fact: deployd show RUN --html FILE | --timeline (deployd show --help)");
}

// --var NAME=VALUE, where NAME is a plain identifier (dots allowed, as in host.port).
std::optional<std::string> parse_vars(const std::vector<std::string>& texts, VarMap& vars) {
  for (const std::string& text : texts) {
    std::size_t equals = text.find('=');
    if (equals == 0 || equals == std::string::npos)
      return "--var: expected NAME=VALUE, got \"" + text + "\"";
    vars[text.substr(0, equals)] = text.substr(equals + 1);
  }
  return std::nullopt;
}

}  // namespace

ParseResult parse_command_line(int argc, const char* const* argv) {
  CLI::App app{"deployd: run a JSON plan of tasks on many hosts at once over SSH", "deployd"};
  Options options;
  std::vector<std::string> var_texts;
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
  if (options.quiet && options.output == OutputMode::Json)
    return ParseResult{std::nullopt, 2, "--quiet prints only the summary, which --output json has not"};
  return ParseResult{std::move(options), 0, ""};
}

}  // namespace deployd::cli
