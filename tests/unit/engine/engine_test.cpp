// SPDX-License-Identifier: MIT
// The engine over a FakeTransport: event order, failures, skips, limits. No timings asserted.
#include "engine/engine.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "async/awaitable.hpp"
#include "graph/task_graph.hpp"
#include "support/fake_transport.hpp"
#include "support/plan_text.hpp"
#include "support/recording_reporter.hpp"
#include "support/run_engine.hpp"

namespace deployd::engine {
namespace {

using testing::exits;
using testing::FakeReply;
using testing::FakeTransport;
using testing::plan_text;
using testing::RecordingReporter;
using testing::run_engine;
using Lines = std::vector<std::string>;

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("every step runs on every host in order, over one connection per host") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {
        "one": {"steps": [{"run": "echo 1"}, {"run": "echo 2"}]},
        "two": {"needs": ["one"], "steps": [{"run": "echo 3"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 0);
    CHECK(end.counts.ok == 2);
    CHECK(transport.connects == 2);
    CHECK(transport.commands["a"] == Lines{"sh -c 'echo 1'", "sh -c 'echo 2'", "sh -c 'echo 3'"});
    CHECK(reporter.lines("b") == Lines{"step_start b one 0", "step_end b one 0 ok", "step_start b one 1",
                                       "step_end b one 1 ok", "step_start b two 0", "step_end b two 0 ok",
                                       "host_end b ok"});
  }

  TEST_CASE("output chunks that split lines become whole lines, stdout and stderr apart") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "x"}]}}})");
    FakeTransport transport;
    FakeReply reply;
    reply.chunks = {{OutputStream::Stdout, "hel"}, {OutputStream::Stderr, "warn"},
                    {OutputStream::Stdout, "lo\nwor"}, {OutputStream::Stderr, "ing\n"},
                    {OutputStream::Stdout, "ld"}};
    transport.reply("a", "x", reply);
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    CHECK(reporter.lines("a") == Lines{"step_start a t 0", "stdout a 0: hello", "stderr a 0: warning",
                                       "stdout a 0: world", "step_end a t 0 ok", "host_end a ok"});
  }

  TEST_CASE("a failing step fails its host, skips the rest there, and other hosts go on") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {
        "deploy": {"steps": [{"run": "false"}, {"run": "echo after"}]},
        "restart": {"needs": ["deploy"], "steps": [{"run": "echo restart"}]}}})");
    FakeTransport transport;
    transport.reply("a", "false", exits(2));
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    CHECK(end.status == RunStatus::Failed);
    CHECK(end.counts.failed == 1);
    CHECK(end.counts.ok == 1);
    CHECK(reporter.lines("a") == Lines{"step_start a deploy 0", "step_end a deploy 0 failed",
                                       "step_end a deploy 1 skipped", "step_end a restart 0 skipped",
                                       "host_end a failed"});
    CHECK(transport.commands["b"].size() == 3);
  }

  TEST_CASE("the failed host's reason names the task, the step, the command and the status") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"deploy": {"steps": [{"run": "true"}, {"run": "tar xzf /tmp/app.tgz"}]}}})");
    FakeTransport transport;
    transport.reply("a", "tar", exits(2));
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    std::string error;
    for (const Event& event : reporter.events)
      if (auto* end = std::get_if<HostEnd>(&event.body)) error = end->error;
    CHECK(error.rfind("deploy step 2 (run \"tar xzf /tmp/app.tgz\"): exited with status 2 after ", 0) == 0);
  }

  TEST_CASE("a command killed by a signal fails with the signal's name") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "kill -9 $$", "name": "suicide"}]}}})");
    FakeTransport transport;
    FakeReply killed;
    killed.result = ExecResult{.exit_status = std::nullopt, .exit_signal = "KILL"};
    transport.reply("a", "kill", killed);
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    const StepEnd* end = nullptr;
    for (const Event& event : reporter.events)
      if (auto* e = std::get_if<StepEnd>(&event.body)) end = e;
    REQUIRE(end != nullptr);
    CHECK(end->exit_signal == "KILL");
    CHECK(end->exit_status == std::nullopt);
    CHECK(end->error.rfind("t step 1 (\"suicide\"): killed by signal KILL after ", 0) == 0);
  }

  TEST_CASE("an unreachable host is reported with its reason and the others still run") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {"t": {"steps": [{"run": "true"}]}}})");
    FakeTransport transport;
    transport.refuse("a", "connect 127.0.0.1:22: connection refused");
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    CHECK(end.counts.unreachable == 1);
    CHECK(end.counts.ok == 1);
    CHECK(reporter.lines("a") == Lines{"step_end a t 0 skipped", "host_end a unreachable"});
    for (const Event& event : reporter.events)
      if (auto* e = std::get_if<HostEnd>(&event.body); e && e->host == "a")
        CHECK(e->error == "connect 127.0.0.1:22: connection refused");
  }

  TEST_CASE("ignore_errors reports the failure but keeps the host going") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"run": "false", "ignore_errors": true}, {"run": "echo next"}]}}})");
    FakeTransport transport;
    transport.reply("a", "false", exits(1));
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 0);
    CHECK(reporter.lines("a") == Lines{"step_start a t 0", "step_end a t 0 failed", "step_start a t 1",
                                       "step_end a t 1 ok", "host_end a ok"});
    // The failure says it was ignored (issue 14, bug 7); the step that passed does not.
    std::vector<bool> ignored;
    for (const Event& event : reporter.events)
      if (auto* e = std::get_if<StepEnd>(&event.body)) ignored.push_back(e->ignored);
    CHECK(ignored == std::vector<bool>{true, false});
  }

  TEST_CASE("a registered value is seen by later steps of the same host, without its newline") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"run": "uname -r", "register": "kernel"}, {"run": "echo {{kernel}}"}]}}})");
    FakeTransport transport;
    FakeReply kernel;
    kernel.chunks = {{OutputStream::Stdout, "6.1.0\n"}};
    transport.reply("a", "uname", kernel);
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    CHECK(transport.commands["a"].at(1) == "sh -c 'echo 6.1.0'");
  }

  TEST_CASE("a registered variable left without a value fails the step that uses it, naming it") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"run": "probe", "register": "found", "ignore_errors": true, "timeout": "50ms"},
        {"run": "use {{found}}"}]}}})");
    FakeTransport transport;
    FakeReply hangs;
    hangs.hangs = true;
    transport.reply("a", "probe", hangs);  // timed out, so nothing is registered (a failed exit registers)
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    for (const std::string& command : transport.commands["a"])  // the second step never reached the host
      CHECK(command.find("use") == std::string::npos);
    std::string error;
    for (const Event& event : reporter.events)
      if (auto* e = std::get_if<HostEnd>(&event.body)) error = e->error;
    CHECK(error == "t step 2 (run \"use {{found}}\"): variable \"found\" has no value on this host");
  }

  TEST_CASE("a failed command registers its output and fields (issue 17: failure() steps read them)") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"run": "probe", "register": "found", "ignore_errors": true},
        {"run": "use {{found}} {{found.rc}} {{found.failed}}"}]}}})");
    FakeTransport transport;
    FakeReply failed = exits(3);
    failed.chunks = {{OutputStream::Stdout, "partial\n"}};
    transport.reply("a", "probe", failed);
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 0);
    CHECK(transport.commands["a"].at(1) == "sh -c 'use partial 3 true'");
  }

  TEST_CASE("with ignore_errors, a variable without a value is reported and the host goes on") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"run": "probe", "register": "found", "ignore_errors": true, "timeout": "50ms"},
        {"run": "use {{found}}", "ignore_errors": true}, {"run": "after"}]}}})");
    FakeTransport transport;
    FakeReply hangs;
    hangs.hangs = true;
    transport.reply("a", "probe", hangs);
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 0);
    CHECK(reporter.lines("a") == Lines{"step_start a t 0", "step_end a t 0 timed_out", "step_start a t 1",
                                       "step_end a t 1 failed", "step_start a t 2", "step_end a t 2 ok",
                                       "host_end a ok"});
  }

  TEST_CASE("variables, cd, env and sudo shape the command sent") {
    Plan plan = plan_text(R"({"hosts": [{"name": "a", "vars": {"app": "shop"}}], "tasks": {"t": {"steps": [
        {"cd": "/srv/{{app}}", "steps": [{"run": "make", "env": {"MODE": "it's"}, "sudo": "www"}]}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    CHECK(transport.commands["a"].at(0) ==
          "sudo -n -u 'www' -- sh -c 'cd -- '\\''/srv/shop'\\'' || exit 1\n"
          "export MODE='\\''it'\\''\\'\\'''\\''s'\\''\nmake'");
  }

  TEST_CASE("a step's name uses the host's variables in step_start") {
    Plan plan = plan_text(R"({"hosts": [{"name": "a", "vars": {"release": "r42"}}], "tasks": {"t": {"steps": [
        {"run": "true", "name": "release {{release}} on {{host}}"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    const auto* start = std::get_if<StepStart>(&reporter.events.at(1).body);
    REQUIRE(start != nullptr);
    CHECK(start->name == "release r42 on a");
  }

  TEST_CASE("forks bounds the hosts worked on at once") {
    Plan plan = plan_text(R"({"hosts": ["h[1:9]"], "tasks": {"t": {"steps": [{"run": "true"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter, {}, 3);
    CHECK(end.counts.ok == 9);
    CHECK(transport.most_open == 3);
  }

  TEST_CASE("with on_failure abort, hosts not yet started are reported aborted and the exit is 3") {
    Plan plan = plan_text(R"({"hosts": ["a", "b", "c"], "policy": {"forks": 1, "on_failure": "abort"},
        "tasks": {"t": {"steps": [{"run": "false"}]}}})");
    FakeTransport transport;
    transport.reply("a", "false", exits(1));
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 3);
    CHECK(end.status == RunStatus::Aborted);
    CHECK(end.counts.failed == 1);
    CHECK(end.counts.aborted == 2);
    CHECK(transport.connects == 1);
  }

  TEST_CASE("a slow host does not hold back another host's next task (per-host needs)") {
    Plan plan = plan_text(R"({"hosts": ["fast", "slow"], "tasks": {
        "deploy": {"steps": [{"run": "deploy"}]},
        "restart": {"needs": ["deploy"], "steps": [{"run": "restart"}]}}})");
    FakeTransport transport;
    FakeReply slow;
    slow.yields = 20;
    transport.reply("slow", "deploy", slow);
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    Lines order = transport.order;
    auto at = [&](const std::string& entry) {
      return std::find(order.begin(), order.end(), entry) - order.begin();
    };
    CHECK(at("fast: sh -c 'restart'") < at("slow: sh -c 'restart'"));
    Lines ends;
    for (const std::string& line : reporter.lines())
      if (line.rfind("step_end", 0) == 0) ends.push_back(line);
    CHECK(ends == Lines{"step_end fast deploy 0 ok", "step_end fast restart 0 ok",
                        "step_end slow deploy 0 ok", "step_end slow restart 0 ok"});
  }
}

}  // namespace deployd::engine
