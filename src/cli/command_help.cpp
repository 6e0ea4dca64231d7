// SPDX-License-Identifier: MIT
// --help pages and usage errors (see command_help.hpp).
#include "cli/command_help.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>

#include "cli/usage_text.hpp"
#include "plan/suggest.hpp"
#include "report/status_line.hpp"

namespace deployd::cli {
namespace {

constexpr std::size_t kColumn = 28;  // where option texts start, as in GNU tools' --help

bool is_listed(const CLI::Option* option) {
  return option->nonpositional() && !option->get_group().empty();
}

// `-H, --hosts H1,H2`; a long-only option is indented to line up with the long names.
std::string option_left(const CLI::Option& option) {
  std::string names;
  for (const std::string& name : option.get_snames()) names += (names.empty() ? "-" : ", -") + name;
  for (const std::string& name : option.get_lnames())
    names += (names.empty() ? "    --" : ", --") + name;
  const std::string metavar = option.get_type_name();
  return metavar.empty() ? names : names + " " + metavar;
}

}  // namespace

std::string render_help(const CLI::App& app, const HelpPage& page, std::size_t width) {
  std::string text;
  for (std::size_t i = 0; i < page.usage.size(); ++i)
    text += (i == 0 ? "Usage: " : "       ") + wrap(page.usage[i], 9, width, 7);
  text += "\n" + wrap(page.about, 0, width) + "\nOptions:\n";
  for (const CLI::Option* option : app.get_options(is_listed))
    text += help_entry(option_left(*option), option->get_description(), kColumn, width);
  if (!page.exit_statuses.empty()) {
    text += "\nExit status:\n";
    for (const auto& [status, meaning] : page.exit_statuses)
      text += help_entry(status, meaning, 8, width);
  }
  if (!page.examples.empty()) {
    text += "\nExamples:\n";
    for (const std::string& example : page.examples) text += "  " + example + "\n";
  }
  if (!page.footer.empty()) text += "\n" + wrap(page.footer, 0, width);
  return text;
}

std::size_t help_width() {
  return help_width(report::terminal_columns(stdout), std::getenv("COLUMNS"));
}

std::vector<std::string> visible_option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* option : app.get_options(is_listed)) {
    for (const std::string& name : option->get_lnames()) names.push_back("--" + name);
    for (const std::string& name : option->get_snames()) names.push_back("-" + name);
  }
  return names;
}

std::string usage_error_text(const CLI::App& app, const CLI::ParseError& error) {
  const std::string what = error.what();
  // "PLAN is required": a positional left out.
  if (dynamic_cast<const CLI::RequiredError*>(&error) && what.ends_with(" is required"))
    return "missing " + what.substr(0, what.size() - 12) + ": usage: " + app.get_name() + " " +
           (app.get_name() == "deployd" ? "PLAN [TASK...] [OPTIONS]" : "[OPTIONS]");
  // "--output: 1 required TEXT missing": an option given last, without its value.
  if (dynamic_cast<const CLI::ArgumentMismatch*>(&error)) {
    const std::string name = what.substr(0, what.find(':'));
    if (const CLI::Option* option = app.get_option_no_throw(name))
      return name + " needs a value: " + option->get_type_name();
  }
  // Anything else CLI11 says (rare): its text, in lower case as deployd's messages are.
  std::string text = what;
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z')
    text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text;
}

std::string leftover_error_text(const CLI::App& app) {
  const std::vector<std::string> left = app.remaining();
  if (left.empty()) return "";
  if (left[0].size() > 1 && left[0][0] == '-')
    return unknown_option_text(left[0], visible_option_names(app));
  return "unexpected argument " + plan::quote(left[0]);
}

std::string parse_subcommand(CLI::App& app, int argc, const char* const* argv, bool& printed_help) {
  try {
    app.parse(argc - 1, argv + 1);
  } catch (const CLI::CallForHelp&) {
    std::fputs(app.help().c_str(), stdout);
    printed_help = true;
    return "";
  } catch (const CLI::ParseError& error) {
    std::string left = leftover_error_text(app);
    return left.empty() ? usage_error_text(app, error) : left;
  }
  return leftover_error_text(app);
}

}  // namespace deployd::cli
