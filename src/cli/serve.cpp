// SPDX-License-Identifier: MIT
// `deployd serve` and `--persist` (see serve.hpp).
#include "cli/serve.hpp"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string_view>

#include "base/duration_text.hpp"
#include "cli/command_help.hpp"
#include "deployd/exit_code.hpp"
#include "plan/duration.hpp"
#include "warm/control.hpp"
#include "warm/daemon.hpp"
#include "warm/runtime_folder.hpp"
#include "warm/warm_transport.hpp"

namespace deployd::cli {

namespace {

constexpr std::chrono::milliseconds kDefaultIdle = std::chrono::minutes(10);

std::optional<Duration> parse_idle(const std::string& option, const std::string& text,
                                   std::string& error) {
  std::optional<Duration> idle = plan::parse_duration(text);
  if (!idle || idle->count() <= 0) {
    error = option + " \"" + text + "\" is not a duration (e.g. 90s, 10m, 1h)";
    return std::nullopt;
  }
  return idle;
}

}  // namespace

bool is_serve_command(int argc, const char* const* argv) {
  return argc > 1 && std::string_view(argv[1]) == "serve";
}

int serve_main(int argc, const char* const* argv) {
  CLI::App app{"deployd serve: keep hosts' SSH sessions open between your runs (warm sessions)",
               "deployd serve"};
  std::string idle_text;
  bool is_foreground = false;
  bool is_status = false;
  bool is_stop = false;
  app.add_option("--idle", idle_text,
                 "close a session unused for DURATION; exit when nothing was kept that long "
                 "(default 10m)")
      ->type_name("DURATION");
  app.add_flag("--foreground", is_foreground, "serve in this process (for a service manager)");
  app.add_flag("--status", is_status, "list the warm sessions of the running daemon");
  app.add_flag("--stop", is_stop, "close every warm session and stop the daemon");
  app.allow_extras(true);
  bool printed_help = false;
  std::string error = parse_subcommand(app, argc, argv, printed_help);
  if (printed_help) return 0;
  Duration idle = kDefaultIdle;
  if (error.empty() && !idle_text.empty())
    if (auto parsed = parse_idle("--idle", idle_text, error)) idle = *parsed;
  if (error.empty() && is_status + is_stop + is_foreground > 1)
    error = "--status, --stop and --foreground go alone";
  if (!error.empty()) {
    std::fprintf(stderr, "deployd: error: %s (see deployd serve --help)\n", error.c_str());
    return static_cast<int>(ExitCode::InvalidPlan);
  }
  const std::string folder = warm::runtime_folder();
  if (is_status || is_stop) {
    warm::Answer answer = is_status ? warm::ask_status(folder) : warm::ask_stop(folder);
    if (answer.text && answer.error.empty()) {
      std::fputs(is_status ? answer.text->c_str() : "deployd serve: stopped\n", stdout);
      return 0;
    }
    std::fprintf(stderr, "deployd serve: %s (socket %s)\n", answer.error.c_str(),
                 warm::socket_path(folder).c_str());
    return 1;
  }
  if (is_foreground) return warm::run_daemon(warm::ServeOptions{folder, idle});
  if (warm::ask_status(folder).is_running) {
    std::printf("deployd serve: already running (socket %s)\n", warm::socket_path(folder).c_str());
    return 0;
  }
  if (std::string start_error = warm::start_daemon(folder, idle); !start_error.empty()) {
    std::fprintf(stderr, "deployd: error: serve: %s\n", start_error.c_str());
    return 1;
  }
  std::printf("deployd serve: running (socket %s), sessions closed after %s idle\n",
              warm::socket_path(folder).c_str(), base::duration_text(idle).c_str());
  return 0;
}

std::unique_ptr<engine::Transport> with_warm_sessions(std::unique_ptr<engine::Transport> direct,
                                                      const std::string& persist,
                                                      std::string& error) {
  const std::string folder = warm::runtime_folder();
  if (!persist.empty()) {
    std::optional<Duration> idle = parse_idle("--persist", persist, error);
    if (!idle) return direct;
    if (std::string start_error = warm::start_daemon(folder, *idle); !start_error.empty()) {
      error = "--persist: " + start_error;
      return direct;
    }
  }
  // No folder (no daemon), or one that is not ours or is open to others, is never used: someone
  // else's daemon could be listening there. (start_daemon checked it, too.)
  if (!warm::unsafe_folder_reason(folder).empty()) return direct;
  return warm::make_warm_transport(std::move(direct), warm::socket_path(folder));
}

}  // namespace deployd::cli
