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

#include "cli/ad_hoc.hpp"
#include "cli/command_help.hpp"
#include "cli/retry_args.hpp"
#include "cli/usage_text.hpp"

namespace deployd::cli {
namespace {

constexpr const char* kVersion = "deployd " DEPLOYD_VERSION;  // meson.build's project version

struct VarTexts {
  std::vector<std::string> values;  ///< --var NAME=VALUE or NAME=@FILE
  std::vector<std::string> envs;    ///< --var-env NAME=ENVVAR
  std::string batches;              ///< --batches SIZES, parsed once the rest is
};

// Issue 19: ad-hoc commands and host and task selection.
void add_ad_hoc_and_selection_options(CLI::App& app, Options& options) {
  app.add_flag("--sudo", options.sudo, "run the ad-hoc command (-- COMMAND) through sudo, as root");
  app.add_option("--timeout", options.timeout,
                 "the ad-hoc command's timeout, e.g. 30s or 5m (its processes are stopped then)")
      ->type_name("DURATION");
  app.add_option("--only", options.only,
                 "run only these tasks, without their needs (repeatable, or comma-separated)")
      ->type_name("TASKS")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--exclude", options.exclude,
                 "leave out hosts or groups matching these globs (as --limit '!GLOB')")
      ->type_name("GLOBS")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_flag("--list-hosts", options.list_hosts,
               "print the hosts the command would run on, folded into ranges, and exit");
}

// Usage errors of the ad-hoc and selection options, or empty. `--limit '!GLOB'` becomes
// --exclude GLOB here, as Ansible's `--limit 'all:!bad'` leaves `bad` out.
std::string check_selection(Options& options) {
  std::erase_if(options.limit, [&](const std::string& pattern) {
    if (!pattern.starts_with('!')) return false;
    options.exclude.push_back(pattern.substr(1));
    return true;
  });
  for (const std::string& pattern : options.exclude)
    if (pattern.empty())
      return "--exclude: an empty pattern (--limit '!' needs a glob after the !)";
  if (std::string error = check_ad_hoc_options(options.is_ad_hoc(), options.sudo, options.timeout);
      !error.empty())
    return error;
  if (options.is_ad_hoc()) {
    if (!options.plan_path.empty())
      return "a plan and an ad-hoc command (-- COMMAND) do not go together: \"" +
             options.plan_path + "\" is before the --";
    if (options.retry_failed)
      return "--retry-failed reruns an ad-hoc command by its RUN_ID alone: deployd --retry-failed "
             "RUN_ID";
    if (!options.only.empty()) return "--only selects a plan's tasks: an ad-hoc command has one";
    if (options.list || options.graph)
      return std::string(options.list ? "--list" : "--graph") +
             " shows a plan's tasks: an ad-hoc command has none";
  } else if (options.plan_path.empty() &&
             !(options.retry_failed && !options.retry_run_id.empty())) {
    return "a PLAN is required (or -- COMMAND to run one command on the hosts, or "
           "--retry-failed RUN_ID)";
  }
  if (!options.only.empty()) {
    if (!options.tasks.empty())
      return "--only names the tasks to run: leave out the TASK arguments, or --only";
  }
  if (options.list_hosts && (options.list || options.graph || options.dry_run))
    return "--list-hosts prints the hosts only: leave out --list, --graph and --dry-run";
  if (options.show_files && !options.dry_run)
    return "--show-files goes with --dry-run (--diff compares the files with the hosts')";
  if (options.diff && (options.dry_run || options.list || options.graph || options.list_hosts))
    return "--diff is a dry run that connects: leave out --dry-run, --list, --graph and "
           "--list-hosts";
  if (options.diff && options.is_ad_hoc())
    return "--diff compares the files of template and put steps: an ad-hoc command has none";
  return {};
}

// Values checked after parsing, so that their errors are deployd's (did-you-mean, no numeric
// enum values, no 300-digit range): CLI11 only collects the text.
struct ValueTexts {
  std::string output = "stream";
  std::string color = "auto";
  std::string forks;
};

const std::vector<std::string> kOutputs{"stream", "group", "json"};
const std::vector<std::string> kColors{"auto", "always", "never"};
constexpr int kMostForks = 100000;

// --help around the options; docs/deployd.1 has the same exit statuses (cli_docs_test.py).
HelpPage help_page() {
  return HelpPage{
      .usage = {"deployd PLAN [TASK...] [OPTIONS]",
                "deployd -H HOSTS | -i INVENTORY [OPTIONS] -- COMMAND...",
                "deployd --retry-failed RUN_ID", "deployd config",
                "deployd runs [PLAN] [-n N] [--log-dir DIR]",
                "deployd show RUN [--html FILE | --timeline | --output stream|group] [--host H]",
                "deployd serve [--idle DURATION] [--foreground | --status | --stop]"},
      .about =
          "Run a JSON plan of tasks on many hosts at once over SSH: the named TASKs with "
          "everything "
          "they need, in dependency order (default: the tasks marked \"default\", else all). "
          "Nothing "
          "connects before the whole plan is valid.",
      .exit_statuses = {{"0", "every targeted host succeeded"},
                        {"1", "the run finished and some hosts failed or were unreachable"},
                        {"2", "invalid plan or usage; nothing was run"},
                        {"3", "aborted by the failure policy"},
                        {"70", "internal error"},
                        {"74", "every host succeeded, but the run log could not be written whole"},
                        {"129", "hung up (SIGHUP)"},
                        {"130", "interrupted (Ctrl-C, SIGINT)"},
                        {"143", "terminated (SIGTERM)"}},
      .examples = {"deployd plan.json --list",
                   "deployd plan.json deploy -i hosts.json --output group",
                   "deployd plan.json deploy --limit 'web*' -f 20 --var version=1.4.2"},
      .footer =
          "See also: deployd runs --help, deployd show --help, deployd serve --help, man deployd"};
}

void add_options(CLI::App& app, Options& options, VarTexts& var_texts, ValueTexts& value_texts) {
  // Not required: an ad-hoc command (-- COMMAND) or --retry-failed RUN_ID needs none.
  app.add_option("PLAN", options.plan_path, "the JSON plan to run");
  app.add_option("TASK", options.tasks,
                 "tasks to run with their needs (default: the `default` tasks, else all)");
  app.add_option("-H,--hosts", options.hosts,
                 "run remote tasks on these hosts instead of their targets; names not in the plan "
                 "are dialled as written (user@host:port); @FILE: the hosts FILE lists, one a line")
      ->type_name("H1,H2")
      ->delimiter(',')
      ->allow_extra_args(false);
  app.add_option("--limit", options.limit,
                 "only the hosts, or members of the groups, matching these globs")
      ->type_name("GLOBS")
      ->delimiter(',')
      ->allow_extra_args(false);
  // allow_extra_args(false): one value per occurrence, so `-i inv.json deploy` leaves `deploy`
  // to the task list (CLI11 lets a vector option swallow every following word by default).
  app.add_option(
         "--var", var_texts.values,
         "set a variable (repeatable; wins over every other value); NAME=@FILE: the file's text")
      ->type_name("NAME=VALUE")
      ->allow_extra_args(false);
  // Secrets stay out of the process list: `ps` shows the name of the variable, not its value.
  app.add_option("--var-env", var_texts.envs,
                 "set a variable from an environment variable (repeatable)")
      ->type_name("NAME=ENVVAR")
      ->allow_extra_args(false);
  app.add_option("-i,--inventory", options.inventories,
                 "hosts, groups, defaults and vars to add to the plan: JSON, or an Ansible INI or "
                 "YAML inventory (repeatable; default: $DEPLOYD_INVENTORY)")
      ->type_name("FILE")
      ->allow_extra_args(false);
  app.add_flag("-l,--list", options.list, "list tasks with their descriptions and needs");
  app.add_flag("-n,--dry-run", options.dry_run, "print what would run on each host, without connecting");
  app.add_flag("--show-files", options.show_files,
               "with --dry-run: print the content each template and put step would install");
  app.add_flag("--diff", options.diff,
               "connect and show how the files of template and put steps differ from each "
               "host's; runs no step, changes nothing");
  app.add_flag("--graph", options.graph, "print the task graph in Graphviz dot");
  // For the bash completion (docs/deployd.bash): no group, so --help does not list it.
  app.add_flag("--task-names", options.task_names, "print the plan's task names, one a line")->group("");
  app.add_flag("--host-names", options.host_names,
               "print the plan's host and group names, one a line")
      ->group("");
  app.add_flag("-q,--quiet", options.quiet, "print only the summary at the end");
  app.add_flag("-v,--verbose", options.verbose,
               "log connection phases and timings to stderr; with --dry-run, each host's connection "
               "values and where they come from");
  app.add_option(
         "--output", value_texts.output,
         "stream: live lines prefixed by their host (the default); group: each step once it "
         "has ended, hosts with the same result folded; json: JSON Lines events on stdout")
      ->type_name("stream|group|json");
  app.add_option("--color", value_texts.color,
                 "colour the output: auto (a terminal without NO_COLOR), always, never")
      ->type_name("auto|always|never");
  app.add_option("-f,--forks", value_texts.forks,
                 "most hosts worked on at once (overrides policy.forks)")
      ->type_name("N");
  app.add_option("--batches", var_texts.batches,
                 "rolling waves for this run instead of policy.batches: counts and percentages, "
                 "e.g. 1,25%,100%")
      ->type_name("SIZES");
  app.add_option("--log-dir", options.log_dir,
                 "where run logs go (default: .deployd/runs beside the plan)")
      ->type_name("DIR");
  app.add_flag(
         "--retry-failed", options.retry_failed,
         "rerun the failed, unreachable and aborted hosts of the plan's last run (or of RUN_ID)")
      ->type_name("[RUN_ID]");
  app.add_option(
         "-F,--ssh-config", options.ssh_config,
         "OpenSSH client config to read instead of ~/.ssh/config (or the plan's ssh_config)")
      ->type_name("FILE");
  app.add_option(
         "--report", options.report_file,
         "write the run's self-contained HTML report to FILE at its end (also when interrupted)")
      ->type_name("FILE");
  app.add_option(
         "--junit", options.junit_file,
         "write a JUnit XML report (a test case per host and task) to FILE at the run's end")
      ->type_name("FILE");
  app.add_option(
         "--output-dir", options.output_dir,
         "write each host's stdout and stderr to DIR/HOST.out and DIR/HOST.err (as pssh -o/-e)")
      ->type_name("DIR");
  app.add_option("--persist", options.persist,
                 "keep each host's session open for DURATION after the run, in deployd serve "
                 "(started if needed), for the next runs (e.g. 10m)")
      ->type_name("DURATION");
  add_ad_hoc_and_selection_options(app, options);
  app.set_version_flag("--version", kVersion, "print the version and exit");
  app.set_help_flag("-h,--help", "print this help and exit");
}

// --output, --color and --forks from their texts; an error names the option and the choices.
std::optional<std::string> parse_values(const ValueTexts& texts, Options& options) {
  std::string error;
  if (auto index = parse_choice("--output", texts.output, kOutputs, error))
    options.output = static_cast<OutputMode>(*index);
  else
    return error;
  if (auto index = parse_choice("--color", texts.color, kColors, error))
    options.color = static_cast<ColorMode>(*index);
  else
    return error;
  if (!texts.forks.empty()) {
    if (auto forks = parse_count("--forks", texts.forks, kMostForks, error))
      options.forks = *forks;
    else
      return error;
  }
  return std::nullopt;
}

// `-H node001 node002`: the word after -H's value that became a task, which the task error then
// explains (a space where -H wants a comma).
std::vector<std::string> words_after_hosts(const std::vector<std::string>& args) {
  std::vector<std::string> words;
  for (std::size_t i = 1; i + 2 < args.size(); ++i)
    if ((args[i] == "-H" || args[i] == "--hosts") && !args[i + 2].starts_with('-'))
      words.push_back(args[i + 2]);
  return words;
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

// A usage error: exit status 2, the message as every command-line error ends.
ParseResult usage_error(const std::string& message) {
  return ParseResult{std::nullopt, 2, message + std::string(kSeeHelp)};
}

}  // namespace

ParseResult parse_command_line(int argc, const char* const* argv) {
  CLI::App app{"deployd: run a JSON plan of tasks on many hosts at once over SSH", "deployd"};
  app.allow_extras(true);  // unknown options are ours to name, with a did-you-mean
  Options options;
  VarTexts var_texts;
  ValueTexts value_texts;
  add_options(app, options, var_texts, value_texts);
  RetryArgs retry = take_retry_args(std::vector<std::string>(argv, argv + argc));
  if (!retry.error.empty()) return usage_error(retry.error);
  options.retry_run_id = retry.run_id;
  if (std::optional<std::vector<std::string>> command = take_command(retry.args)) {
    if (join_command(*command).empty())
      return usage_error("-- is followed by no command (deployd -H HOSTS -- COMMAND)");
    options.command = std::move(*command);
  }
  std::vector<const char*> args;
  for (const std::string& arg : retry.args) args.push_back(arg.c_str());
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::CallForHelp&) {
    return ParseResult{std::nullopt, 0, render_help(app, help_page(), help_width())};
  } catch (const CLI::CallForVersion&) {
    return ParseResult{std::nullopt, 0, std::string(kVersion) + "\n"};
  } catch (const CLI::ParseError& error) {
    // An unknown option is the likelier mistake when a required PLAN is also missing.
    if (std::string left = leftover_error_text(app); !left.empty()) return usage_error(left);
    return usage_error(usage_error_text(app, error));
  }
  if (std::string left = leftover_error_text(app); !left.empty()) return usage_error(left);
  if (std::optional<std::string> error = parse_values(value_texts, options))
    return usage_error(*error);
  if (std::optional<std::string> error = parse_vars(var_texts, options.vars))
    return usage_error(*error);
  if (!var_texts.batches.empty()) {
    options.batches.emplace();
    if (std::optional<std::string> error = parse_batches(var_texts.batches, *options.batches))
      return usage_error(*error);
  }
  if (std::string error = check_selection(options); !error.empty()) return usage_error(error);
  for (const char* name : {"--output", "--color", "--forks", "--log-dir", "--ssh-config"})
    if (app.count(name) > 0) options.given.insert(name);  // the config file does not override them
  if (options.quiet && options.output == OutputMode::Json)
    return usage_error("--quiet prints only the summary, which --output json has not");
  options.words_after_hosts = words_after_hosts(retry.args);
  return ParseResult{std::move(options), 0, ""};
}

std::optional<std::string> use_default_inventory(Options& options) {
  const char* path = std::getenv("DEPLOYD_INVENTORY");
  if (!options.inventories.empty()) return std::nullopt;
  if ((!path || !*path) && !options.config_inventories.empty()) {
    options.inventories = options.config_inventories;
    if (options.verbose)
      for (const std::string& inventory : options.inventories)
        std::fprintf(stderr, "deployd: inventory %s (from %s)\n", inventory.c_str(),
                     options.config_file.c_str());
    return std::nullopt;
  }
  if (!path || !*path) return std::nullopt;
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
