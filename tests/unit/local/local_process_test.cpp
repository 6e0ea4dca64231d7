// SPDX-License-Identifier: MIT
// Local commands on a real io_context: streams, exit, signals, timeouts, folders, load.
#include "local/local_process.hpp"

#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "async/awaitable.hpp"
#include "support/temp_folder.hpp"

namespace deployd::local {
namespace {

namespace fs = std::filesystem;
using testing::TempFolder;

struct Outcome {
  base::ExecResult result;
  std::string out, err;
  std::size_t out_bytes = 0, err_bytes = 0;
  bool keep_text = true;
};

// Runs every command at once on one io_context (one thread), collecting each one's output.
std::vector<Outcome> run_all(const std::vector<LocalCommand>& commands, bool keep_text = true) {
  boost::asio::io_context context{1};
  std::vector<Outcome> outcomes(commands.size());
  int finished = 0;
  for (std::size_t i = 0; i < commands.size(); ++i) {
    Outcome& outcome = outcomes[i];
    outcome.keep_text = keep_text;
    auto on_output = [&outcome](OutputStream stream, std::string_view chunk) {
      bool is_out = stream == OutputStream::Stdout;
      (is_out ? outcome.out_bytes : outcome.err_bytes) += chunk.size();
      if (outcome.keep_text) (is_out ? outcome.out : outcome.err).append(chunk);
    };
    boost::asio::co_spawn(context, run_local(commands[i], on_output),
                          [&outcome, &finished](std::exception_ptr error, base::ExecResult result) {
                            if (error) std::rethrow_exception(error);
                            outcome.result = std::move(result);
                            ++finished;
                          });
  }
  context.run();
  CHECK(finished == static_cast<int>(commands.size()));
  return outcomes;
}

Outcome run_one(LocalCommand command) { return run_all({std::move(command)}).front(); }

LocalCommand shell(std::string text) {
  LocalCommand command;
  command.command = std::move(text);
  return command;
}

// Alive means running or stopped; a zombie (waiting for a reaper) counts as gone.
bool is_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  std::size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] != 'Z' &&
         line[paren + 2] != 'X';
}

}  // namespace

TEST_SUITE("local") {
  TEST_CASE("stdout and stderr arrive apart and the exit status is reported") {
    Outcome outcome = run_one(shell("echo out; echo err >&2; echo more; exit 3"));
    CHECK(outcome.out == "out\nmore\n");
    CHECK(outcome.err == "err\n");
    CHECK(outcome.result.exit_status == 3);
    CHECK(outcome.result.exit_signal.empty());
    CHECK_FALSE(outcome.result.timed_out);
    CHECK(outcome.result.error.empty());
  }

  TEST_CASE("a successful command exits with status 0") {
    CHECK(run_one(shell("true")).result.exit_status == 0);
  }

  TEST_CASE("a command killed by a signal is reported with the signal's name") {
    Outcome outcome = run_one(shell("kill -KILL $$"));
    CHECK(outcome.result.exit_status == std::nullopt);
    CHECK(outcome.result.exit_signal == "KILL");
  }

  TEST_CASE("a timeout kills the whole process group, background children included") {
    LocalCommand command = shell("sleep 100 & echo $!; sleep 100");
    command.timeout = std::chrono::milliseconds(300);
    command.kill_grace = std::chrono::milliseconds(500);
    auto started = std::chrono::steady_clock::now();
    Outcome outcome = run_one(command);
    // 300 ms, then 500 ms of grace: far less than the 100 s the processes would sleep.
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
    CHECK(outcome.result.timed_out);
    CHECK(outcome.result.exit_status == std::nullopt);
    CHECK(outcome.result.exit_signal.empty());
    pid_t background = std::stoi(outcome.out);
    for (int i = 0; i < 100 && is_alive(background); ++i) ::usleep(10'000);
    CHECK_FALSE(is_alive(background));
  }

  TEST_CASE("a command that ignores TERM is killed after the grace period") {
    LocalCommand command = shell("trap '' TERM; echo ready; while :; do sleep 0.05; done");
    command.timeout = std::chrono::milliseconds(200);
    command.kill_grace = std::chrono::milliseconds(200);
    Outcome outcome = run_one(command);
    CHECK(outcome.out == "ready\n");
    CHECK(outcome.result.timed_out);
  }

  TEST_CASE("the command runs in the given folder") {
    TempFolder folder;
    LocalCommand command = shell("pwd -P");
    command.directory = folder.path().string();
    CHECK(run_one(command).out == fs::canonical(folder.path()).string() + "\n");
  }

  TEST_CASE("a missing folder is a clear error and nothing runs") {
    LocalCommand command = shell("echo should-not-run");
    command.directory = "/nonexistent/deployd-test";
    Outcome outcome = run_one(command);
    CHECK(outcome.result.error ==
          "local step: folder \"/nonexistent/deployd-test\" does not exist");
    CHECK(outcome.out.empty());
    CHECK(outcome.result.exit_status == std::nullopt);
  }

  TEST_CASE("the working folder joins a relative cd and keeps an absolute one") {
    CHECK(working_directory("/plans", "") == "/plans");
    CHECK(working_directory("/plans", "build/out") == "/plans/build/out");
    CHECK(working_directory("/plans", "/srv/app") == "/srv/app");
    CHECK(working_directory("plans", "../x") == "x");
  }

  TEST_CASE("extra env vars are added to the controller's environment") {
    ::setenv("DEPLOYD_TEST_INHERITED", "from-parent", 1);
    ::setenv("DEPLOYD_TEST_REPLACED", "old", 1);
    LocalCommand command = shell("echo \"$DEPLOYD_TEST_INHERITED $DEPLOYD_TEST_REPLACED $MODE\"");
    command.env = {{"MODE", "it's $x"}, {"DEPLOYD_TEST_REPLACED", "new"}};
    CHECK(run_one(command).out == "from-parent new it's $x\n");
    ::unsetenv("DEPLOYD_TEST_INHERITED");
    ::unsetenv("DEPLOYD_TEST_REPLACED");
  }

  TEST_CASE("stdin is /dev/null and no descriptor of the controller leaks into the child") {
    int leaked[2];
    REQUIRE(::pipe(leaked) == 0);  // without O_CLOEXEC on purpose
    Outcome outcome = run_one(shell("cat; ls /proc/self/fd | sort -n | tr '\\n' ' '"));
    ::close(leaked[0]);
    ::close(leaked[1]);
    // 0, 1, 2, and the descriptor ls opens to read the folder.
    CHECK(outcome.out == "0 1 2 3 ");
  }

  TEST_CASE("SIGPIPE has its default action in the child even when the controller ignores it") {
    struct sigaction old {};
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &old);
    Outcome outcome = run_one(shell("yes | head -n 2; echo done"));
    ::sigaction(SIGPIPE, &old, nullptr);
    CHECK(outcome.out == "y\ny\ndone\n");
    CHECK(outcome.result.exit_status == 0);
  }

  TEST_CASE("10 MiB on each stream at once never stalls either stream") {
    // Interleaved writes: if one pipe were not read, the writer would block on it forever.
    LocalCommand command = shell(
        "i=0; while [ $i -lt 160 ]; do head -c 65536 /dev/zero; head -c 65536 /dev/zero >&2; "
        "i=$((i+1)); done");
    command.timeout = std::chrono::seconds(60);
    Outcome outcome = run_all({command}, false).front();
    CHECK(outcome.out_bytes == 10u << 20);
    CHECK(outcome.err_bytes == 10u << 20);
    CHECK(outcome.result.exit_status == 0);
  }

  TEST_CASE("50 processes run at once on one io_context, each with its own output and status") {
    // Each process waits until all 50 have started: that ends only if they run at once (one
    // after another, the first would wait until its timeout), however slow the machine is.
    TempFolder started;
    std::vector<LocalCommand> commands;
    for (int i = 0; i < 50; ++i) {
      commands.push_back(shell("touch '" + started.path().string() + "'/" + std::to_string(i) +
                               "; while [ $(ls '" + started.path().string() +
                               "' | wc -l) -lt 50 ]; do sleep 0.05; done; echo " +
                               std::to_string(i) + "; exit " + std::to_string(i % 7)));
      commands.back().timeout = std::chrono::seconds(60);
    }
    std::vector<Outcome> outcomes = run_all(commands);
    for (int i = 0; i < 50; ++i) {
      CHECK_FALSE(outcomes[i].result.timed_out);
      CHECK(outcomes[i].out == std::to_string(i) + "\n");
      CHECK(outcomes[i].result.exit_status == i % 7);
    }
  }
}

}  // namespace deployd::local
