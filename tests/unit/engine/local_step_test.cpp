// SPDX-License-Identifier: MIT
// `local` steps in remote tasks, through the engine over a FakeTransport: real local processes,
// no remote command. Event order asserted, never timings.
#include <doctest/doctest.h>
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "async/awaitable.hpp"
#include "engine/engine.hpp"
#include "graph/task_graph.hpp"
#include "support/fake_transport.hpp"
#include "support/plan_text.hpp"
#include "support/recording_reporter.hpp"
#include "support/run_engine.hpp"
#include "support/temp_folder.hpp"

namespace deployd::engine {
namespace {

namespace fs = std::filesystem;
using testing::FakeTransport;
using testing::plan_text;
using testing::RecordingReporter;
using testing::run_engine;
using Lines = std::vector<std::string>;


// The plan's folder: a fresh temporary one, removed at the end of the test.
struct PlanFolder : testing::TempFolder {
  std::string read(const std::string& name) const {
    std::ifstream in(path() / name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
};

std::string step_error(const RecordingReporter& reporter, const std::string& host, int index) {
  for (const Event& event : reporter.events)
    if (auto* end = std::get_if<StepEnd>(&event.body);
        end && end->host == host && end->step == index)
      return end->error;
  return "<no step_end>";
}

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE(
      "a local step in a remote task runs once per host, with that host's variables, "
      "in the plan's folder, and never reaches the connection") {
    Plan plan = plan_text(R"({"hosts": [{"name": "a", "vars": {"colour": "red"}}, "b"],
        "vars": {"colour": "blue"}, "tasks": {"t": {"steps": [
        {"run": "echo remote"},
        {"local": "echo {{host}} {{colour}} > out-{{host}}.txt; echo made {{host}}"}]}}})");
    PlanFolder folder;
    plan.directory = folder.path().string();
    FakeTransport transport;
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 0);
    CHECK(transport.commands["a"] == Lines{"sh -c 'echo remote'"});
    CHECK(transport.commands["b"] == Lines{"sh -c 'echo remote'"});
    CHECK(folder.read("out-a.txt") == "a red\n");
    CHECK(folder.read("out-b.txt") == "b blue\n");
    CHECK(reporter.lines("a") == Lines{"step_start a t 0", "step_end a t 0 ok", "step_start a t 1",
                                       "stdout a 1: made a", "step_end a t 1 ok", "host_end a ok"});
  }

  TEST_CASE("a local step's cd joins the plan's folder, env reaches it, and register works") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"cd": "sub", "steps": [{"local": "pwd -P"}]},
        {"local": "echo \"$GREETING\"", "env": {"GREETING": "hi {{host}}"}, "register": "said"},
        {"run": "echo {{said}}"}]}}})");
    PlanFolder folder;
    fs::create_directory(folder.path() / "sub");
    plan.directory = folder.path().string();
    FakeTransport transport;
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    CHECK(reporter.lines("a") ==
          Lines{"step_start a t 0", "stdout a 0: " + (folder.path() / "sub").string(),
                "step_end a t 0 ok", "step_start a t 1", "stdout a 1: hi a", "step_end a t 1 ok",
                "step_start a t 2", "step_end a t 2 ok", "host_end a ok"});
    CHECK(transport.commands["a"] == Lines{"sh -c 'echo hi a'"});
  }

  TEST_CASE("host output in a local command: a plain word passes, shell text fails unless | q or | raw") {
    // Issue 16 #3: a hostile host's `1.0; cmd` ran `cmd` on the controller.
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {"t": {"steps": [
        {"run": "version", "register": "v"},
        {"local": "echo plain {{v}} > plain-{{host}}.txt"},
        {"local": "echo quoted {{ v | q }} > quoted-{{host}}.txt"}]}}})");
    PlanFolder folder;
    plan.directory = folder.path().string();
    FakeTransport transport;
    testing::FakeReply good;
    good.chunks = {{OutputStream::Stdout, "1.2.3\n"}};
    testing::FakeReply hostile;
    hostile.chunks = {{OutputStream::Stdout, "1.0; touch pwned\n"}};
    transport.reply("a", "version", good);
    transport.reply("b", "version", hostile);
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code != 0);
    CHECK(folder.read("plain-a.txt") == "plain 1.2.3\n");
    CHECK(folder.read("quoted-a.txt") == "quoted 1.2.3\n");
    CHECK_FALSE(fs::exists(folder.path() / "pwned"));
    CHECK_FALSE(fs::exists(folder.path() / "plain-b.txt"));
    CHECK(step_error(reporter, "b", 1) ==
          "t step 2 (local \"echo plain {{v}} > plain-{{host}}.txt\"): variable \"v\" is host output "
          "(registered, for host \"b\") and holds shell characters (\"1.0; touch pwned\"): write "
          "{{ v | q }} to pass it as one word, or {{ v | raw }} to run it as shell text");
  }

  TEST_CASE("a local step's environment holds no password_env or passphrase_env variable") {
    Plan plan = plan_text(R"({"hosts": [{"name": "a", "password_env": "DEPLOYD_TEST_PW",
        "passphrase_env": "DEPLOYD_TEST_PP"}], "tasks": {"t": {"steps": [
        {"local": "echo \"pw=${DEPLOYD_TEST_PW-unset} pp=${DEPLOYD_TEST_PP-unset} other=$DEPLOYD_TEST_OTHER\""}]}}})");
    ::setenv("DEPLOYD_TEST_PW", "hunter2", 1);
    ::setenv("DEPLOYD_TEST_PP", "phrase", 1);
    ::setenv("DEPLOYD_TEST_OTHER", "kept", 1);
    PlanFolder folder;
    plan.directory = folder.path().string();
    FakeTransport transport;
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    ::unsetenv("DEPLOYD_TEST_PW");
    ::unsetenv("DEPLOYD_TEST_PP");
    ::unsetenv("DEPLOYD_TEST_OTHER");
    CHECK(reporter.lines("a").at(1) == "stdout a 0: pw=unset pp=unset other=kept");
  }

  TEST_CASE("a local step's exit status and timeout are judged like a remote step's") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"local": "exit 4", "ignore_errors": true},
        {"local": "sleep 30", "timeout": "200ms", "ignore_errors": true},
        {"local": "kill -TERM $$"}]}}})");
    PlanFolder folder;
    plan.directory = folder.path().string();
    FakeTransport transport;
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    CHECK(step_error(reporter, "a", 0)
              .rfind("t step 1 (local \"exit 4\"): exited with status 4 after ", 0) == 0);
    CHECK(
        step_error(reporter, "a", 1).rfind("t step 2 (local \"sleep 30\"): timed out after ", 0) ==
        0);
    CHECK(step_error(reporter, "a", 2)
              .rfind("t step 3 (local \"kill -TERM $$\"): killed by signal TERM", 0) == 0);
    CHECK(transport.commands["a"].empty());
  }

  TEST_CASE("a local step with sudo runs through sudo -n on the controller, env kept") {
    if (::geteuid() != 0) {
      MESSAGE("not root: sudo -n as another user needs a sudoers rule; not checked");
      return;
    }
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"local": "id -un; echo \"$X\"", "sudo": "nobody", "env": {"X": "kept {{host}}"}}]}}})");
    PlanFolder folder;
    fs::permissions(folder.path(), fs::perms::owner_all | fs::perms::group_read |
                                       fs::perms::group_exec | fs::perms::others_read |
                                       fs::perms::others_exec);
    plan.directory = folder.path().string();
    FakeTransport transport;
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    CHECK(reporter.lines("a") == Lines{"step_start a t 0", "stdout a 0: nobody",
                                       "stdout a 0: kept a", "step_end a t 0 ok", "host_end a ok"});
  }

  TEST_CASE("a local step in a missing folder fails the step, not the host's connection") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"cd": "missing", "steps": [{"local": "true", "ignore_errors": true}]},
        {"run": "echo still connected"}]}}})");
    PlanFolder folder;
    plan.directory = folder.path().string();
    FakeTransport transport;
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 0);
    CHECK(step_error(reporter, "a", 0) == "t step 1 (local \"true\"): local step: folder \"" +
                                              (folder.path() / "missing").string() +
                                              "\" does not exist");
    CHECK(transport.commands["a"] == Lines{"sh -c 'echo still connected'"});
  }
}

}  // namespace deployd::engine
