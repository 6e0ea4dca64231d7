// SPDX-License-Identifier: MIT
// --help pages and usage errors for the CLI11 apps of deployd, deployd show and deployd runs, in
// deployd's words rather than CLI11's (issue 19, "A CLI that follows the conventions").
#pragma once

#include <utility>

#include <string>
#include <vector>

namespace CLI {
class App;
class ParseError;
}  // namespace CLI

namespace deployd::cli {

/// What --help says around the option list.
struct HelpPage {
  std::vector<std::string> usage;  ///< `deployd PLAN [TASK...] [OPTIONS]`, one form a line
  std::string about;               ///< a paragraph
  std::vector<std::pair<std::string, std::string>> exit_statuses;
  std::vector<std::string> examples;
  std::string footer;  ///< a last paragraph
};

/// The whole --help text, wrapped to `width` columns. Each visible option is listed as
/// `-H, --hosts H1,H2` (its type_name is the metavar); options in the group "" are hidden.
std::string render_help(const CLI::App& app, const HelpPage& page, std::size_t width);

/// The width --help is wrapped to: standard output's terminal, else $COLUMNS, else 80.
std::size_t help_width();

/// The names (`-H`, `--hosts`, ...) of the options --help lists, for did-you-mean.
std::vector<std::string> visible_option_names(const CLI::App& app);

/// CLI11's error in deployd's words, without the `deployd: error: ` prefix and the "see --help".
std::string usage_error_text(const CLI::App& app, const CLI::ParseError& error);

/// The first of app.remaining() (left over with allow_extras) as an error; empty if none.
std::string leftover_error_text(const CLI::App& app);

/// Parses a subcommand's words (`argv[1]` is its name; `app` allows extras): its usage error in
/// deployd's words, or empty. `--help` prints the page and sets `printed_help`.
std::string parse_subcommand(CLI::App& app, int argc, const char* const* argv, bool& printed_help);

}  // namespace deployd::cli
