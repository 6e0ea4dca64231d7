// SPDX-License-Identifier: MIT
// Run control over a FakeTransport: abort grace, interrupts, retries, connection retries,
// policy timeouts. Durations in these plans are tiny so the runs are quick; nothing asserts a time.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <csignal>
#include <stop_token>
#include <thread>
#include <utility>
#include <vector>

#include "async/awaitable.hpp"
#include "engine/engine.hpp"
#include "engine/run.hpp"
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

FakeReply hangs() {
  FakeReply reply;
  reply.hangs = true;
  return reply;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

int count_of(const Lines& lines, const std::string& line) {
  return static_cast<int>(std::count(lines.begin(), lines.end(), line));
}

// Runs every task with the engine reachable from the reporter's hook (to interrupt it).
struct InterruptibleRun {
  const Plan& plan;
  FakeTransport transport;
  RecordingReporter reporter;
  Engine* engine = nullptr;                    ///< while run() lasts
  boost::asio::io_context* context = nullptr;  ///< while run() lasts

  explicit InterruptibleRun(const Plan& p) : plan(p) {}

  RunEnd run(int forks = 0) {
    graph::Selection selection = graph::select_tasks(plan, {});
    REQUIRE(selection.errors.empty());
    RunHooks hooks;
    hooks.on_start = [this](Engine& started, boost::asio::io_context& run_context) {
      engine = &started;
      context = &run_context;
    };
    return engine::run(plan, RunSetup{"run1", selection.tasks, forks}, transport, reporter, hooks);
  }
  // Delivers interrupt number `count` from the event loop, as the CLI's signal handler does.
  void interrupt_later(int signal, int count) {
    boost::asio::post(*context, [this, signal, count] { engine->interrupt(signal, count); });
  }
};

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("an abort starts no new step, lets a running step finish within the grace period") {
    Plan plan = plan_text(R"({"hosts": ["a", "b", "c"], "policy": {"on_failure": "abort", "forks": 2},
        "tasks": {"t": {"steps": [{"run": "first {{host}}"}, {"run": "second {{host}}"}]}}})");
    FakeTransport transport;
    transport.reply("a", "first", exits(1));
    FakeReply slow;
    slow.yields = 20;  // still running when a fails
    transport.reply("b", "first", slow);
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.status == RunStatus::Aborted);
    CHECK(end.exit_code == 3);
    CHECK(reporter.lines("b") == Lines{"step_start b t 0", "step_end b t 0 ok", "step_end b t 1 skipped",
                                       "host_end b aborted"});
    // The step as this host would have run it, its variables resolved (issue 14, bug 6).
    CHECK(contains(reporter.host_end("b").error, "stopped before t step 2 (run \"second b\")"));
    CHECK(reporter.lines("c") == Lines{"step_end c t 0 skipped", "step_end c t 1 skipped", "host_end c aborted"});
    CHECK(contains(reporter.host_end("c").error, "not started: the run was aborted"));
    CHECK(transport.cancels == 0);
  }

  TEST_CASE("a step still running when the grace period ends is cancelled, and its host ends aborted") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "policy": {"on_failure": "abort", "abort_grace": "20ms"},
        "tasks": {"t": {"steps": [{"run": "step {{host}}"}, {"run": "next"}]}}})");
    FakeTransport transport;
    transport.reply("a", "step", exits(1));
    transport.reply("b", "step", hangs());
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 3);
    CHECK(transport.cancels == 1);
    // One word for one outcome: the step the run cancelled is aborted, as its host is.
    CHECK(reporter.lines("b") == Lines{"step_start b t 0", "step_end b t 0 aborted", "step_end b t 1 skipped",
                                       "host_end b aborted"});
    CHECK(contains(reporter.step_errors("b").at(0), "cancelled after"));
    CHECK(contains(reporter.step_errors("b").at(0), "the run was aborted and the grace period (20ms) ran out"));
    CHECK(end.counts.failed == 1);
    CHECK(end.counts.aborted == 1);
  }

  TEST_CASE("a first interrupt starts nothing new; running steps finish; the run ends interrupted, 130") {
    Plan plan = plan_text(R"({"hosts": ["a", "b", "c"], "tasks": {"t": {"steps": [{"run": "one"}, {"run": "two"}]}}})");
    InterruptibleRun run(plan);
    FakeReply slow;
    slow.yields = 10;
    run.transport.reply("*", "one", slow);
    bool sent = false;
    run.reporter.on_event = [&](const Event& event) {
      if (std::holds_alternative<StepStart>(event.body) && !sent) {
        sent = true;
        run.interrupt_later(SIGINT, 1);
      }
    };
    RunEnd end = run.run(/*forks=*/2);
    CHECK(end.status == RunStatus::Interrupted);
    CHECK(end.exit_code == 130);
    CHECK(run.reporter.lines("a") == Lines{"step_start a t 0", "step_end a t 0 ok", "step_end a t 1 skipped",
                                           "host_end a aborted"});
    CHECK(contains(run.reporter.host_end("a").error, "the run was interrupted"));
    CHECK(run.reporter.lines("c") == Lines{"step_end c t 0 skipped", "step_end c t 1 skipped", "host_end c aborted"});
    CHECK(end.reason == "interrupted by SIGINT");
    CHECK(run.transport.cancels == 0);
  }

  TEST_CASE("a second interrupt cancels running steps at once; SIGTERM ends with 143") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "policy": {"abort_grace": "1h"},
        "tasks": {"t": {"steps": [{"run": "sleep 600"}]}}})");
    InterruptibleRun run(plan);
    run.transport.reply("*", "sleep", hangs());
    int started = 0;
    run.reporter.on_event = [&](const Event& event) {
      if (std::holds_alternative<StepStart>(event.body) && ++started == 2) {
        run.interrupt_later(SIGTERM, 1);
        run.interrupt_later(SIGTERM, 2);
      }
    };
    RunEnd end = run.run();
    CHECK(end.exit_code == 143);
    CHECK(end.reason == "interrupted by SIGTERM");
    CHECK(run.transport.cancels == 2);
    for (const char* host : {"a", "b"}) {
      // Both commands were running: stopping their processes was attempted (the fake reports
      // no process group).
      CHECK(contains(run.reporter.step_errors(host).at(0), "it reported no process group"));
      CHECK(run.reporter.lines(host) == Lines{fmt::format("step_start {} t 0", host),
                                              fmt::format("step_end {} t 0 aborted", host),
                                              fmt::format("host_end {} aborted", host)});
      CHECK(contains(run.reporter.step_errors(host).at(0), "cancelled after"));
    }
  }

  TEST_CASE("a step cancelled before its command started is not said to have left processes") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "sleep 600"}]}}})");
    InterruptibleRun run(plan);
    run.transport.reply("*", "sleep", hangs());
    run.reporter.on_event = [&](const Event& event) {
      // Synchronously, inside step_start: the command has not been sent yet.
      if (std::holds_alternative<StepStart>(event.body)) run.engine->interrupt(SIGINT, 2);
    };
    run.run();
    CHECK(run.transport.commands["a"].empty());
    REQUIRE(run.reporter.step_errors("a").size() == 1);
    CHECK(contains(run.reporter.step_errors("a").at(0), "cancelled after"));
    CHECK_FALSE(contains(run.reporter.step_errors("a").at(0), "process"));
  }

  TEST_CASE("running_steps names each running host's task and step") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {"deploy": {"steps": [{"run": "sleep 600 # {{host}}"}]}}})");
    InterruptibleRun run(plan);
    run.transport.reply("*", "sleep", hangs());
    std::vector<Engine::RunningStep> seen;
    int started = 0;
    run.reporter.on_event = [&](const Event& event) {
      if (std::holds_alternative<StepStart>(event.body) && ++started == 2) {
        boost::asio::post(*run.context, [&] {
          seen = run.engine->running_steps();
          run.engine->interrupt(SIGINT, 2);
        });
      }
    };
    run.run();
    REQUIRE(seen.size() == 2);
    CHECK(seen[0].host == "a");
    CHECK(seen[0].task == "deploy");
    CHECK(seen[0].step == "sleep 600 # a");  // as its step_start names it, resolved (issue 14)
    CHECK(seen[1].step == "sleep 600 # b");
  }

  TEST_CASE("end_now reports every unfinished host as aborted and the run as interrupted") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {"t": {"steps": [{"run": "x"}]}}})");
    InterruptibleRun run(plan);
    RunEnd now;
    run.reporter.on_event = [&](const Event& event) {
      auto* end = std::get_if<HostEnd>(&event.body);
      if (end && end->host == "a" && now.exit_code == 0) {
        run.engine->interrupt(SIGINT, 1);
        now = run.engine->end_now();
        run.context->stop();  // pending coroutines stay, as the CLI's _Exit leaves them
      }
    };
    run.run();
    CHECK(now.exit_code == 130);
    CHECK(now.counts.ok == 1);
    CHECK(now.counts.aborted == 1);
    CHECK(run.reporter.host_end("b").status == HostStatus::Aborted);
  }

  TEST_CASE("retries run a failed step again, with the attempt named, until it passes") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"run": "flaky", "retries": 2, "retry_delay": "1ms"}, {"run": "after"}]}}})");
    FakeTransport transport;
    FakeReply flaky;
    flaky.fails_first = 2;
    transport.reply("a", "flaky", flaky);
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 0);
    Lines lines = reporter.lines("a");
    CHECK(count_of(lines, "step_start a t 0") == 3);
    CHECK(count_of(lines, "step_end a t 0 failed") == 2);
    CHECK(count_of(lines, "step_end a t 0 ok") == 1);
    Lines errors = reporter.step_errors("a");
    CHECK(contains(errors.at(0), "attempt 1 of 3 failed (exited with status 1 after "));
    CHECK(errors.at(0).ends_with("); retrying in 1ms"));
    CHECK(contains(errors.at(1), "attempt 2 of 3 failed (exited with status 1 after "));
    CHECK(errors.at(1).ends_with("); retrying in 2ms"));  // the delay doubles
    CHECK(errors.at(2).empty());
  }

  TEST_CASE("a step that fails every attempt fails the host and says how many attempts it had") {
    Plan plan = plan_text(R"({"hosts": ["a"], "policy": {"retries": 1, "retry_delay": "1ms"},
        "tasks": {"t": {"steps": [{"run": "broken"}]}}})");
    FakeTransport transport;
    transport.reply("a", "broken", exits(2));
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    CHECK(transport.commands["a"].size() == 2);
    CHECK(contains(reporter.host_end("a").error, "exited with status 2"));
    CHECK(contains(reporter.host_end("a").error, "(attempt 2 of 2)"));
  }

  TEST_CASE("a task's policy sets retries and timeout for its steps; a step's own keys win") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {
        "t": {"policy": {"retries": 3, "retry_delay": "1ms", "timeout": "10ms"},
              "steps": [{"run": "flaky"}, {"run": "once", "retries": 0}, {"run": "sleep 600"}]}}})");
    FakeTransport transport;
    FakeReply flaky;
    flaky.fails_first = 3;
    transport.reply("a", "flaky", flaky);
    FakeReply once;
    once.fails_first = 1;
    transport.reply("a", "once", once);
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    Lines lines = reporter.lines("a");
    CHECK(count_of(lines, "step_start a t 0") == 4);  // 3 failures, then a pass
    CHECK(count_of(lines, "step_start a t 1") == 1);  // retries: 0 on the step
    CHECK(count_of(lines, "step_start a t 2") == 0);
  }

  TEST_CASE("the task's timeout applies to a step without its own") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {
        "t": {"policy": {"timeout": "10ms"}, "steps": [{"run": "sleep 600"}]}}})");
    FakeTransport transport;
    transport.reply("a", "sleep", hangs());
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    CHECK(reporter.lines("a") == Lines{"step_start a t 0", "step_end a t 0 timed_out", "host_end a failed"});
  }

  TEST_CASE("a lost connection is not retried") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "x", "retries": 3, "retry_delay": "1ms"}]}}})");
    FakeTransport transport;
    FakeReply lost;
    lost.result = ExecResult{.error = "connection lost during command"};
    transport.reply("a", "x", lost);
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    CHECK(transport.commands["a"].size() == 1);
  }

  TEST_CASE("a refused connection is tried again and may then succeed; a refusal that stays fails") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "policy": {"connect_retries": 2, "connect_retry_delay": "1ms"},
        "tasks": {"t": {"steps": [{"run": "x"}]}}})");
    FakeTransport transport;
    transport.flaky["a"] = 2;  // refused twice, then accepted
    transport.flaky["b"] = 3;  // one refusal more than the retries
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(reporter.host_end("a").status == HostStatus::Ok);
    CHECK(reporter.host_end("b").status == HostStatus::Unreachable);
    CHECK(reporter.host_end("b").error == "connection refused (3 attempts)");
    CHECK(transport.connects == 6);
    CHECK(end.exit_code == 1);
  }

  TEST_CASE("a failure that is not transient (authentication, host key) is never retried") {
    Plan plan = plan_text(R"({"hosts": ["a"], "policy": {"connect_retries": 5, "connect_retry_delay": "1ms"},
        "tasks": {"t": {"steps": [{"run": "x"}]}}})");
    FakeTransport transport;
    transport.refuse("a", "authentication failed");
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    CHECK(transport.connects == 1);
    CHECK(reporter.host_end("a").status == HostStatus::Unreachable);
    CHECK(reporter.host_end("a").error == "authentication failed");  // no attempt count
  }

  TEST_CASE("run(): a stop request from another thread is a first SIGTERM: nothing new starts") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "policy": {"forks": 1, "abort_grace": "20ms"},
        "tasks": {"t": {"steps": [{"run": "sleep 600"}]}}})");
    FakeTransport transport;
    transport.reply("*", "sleep", hangs());
    RecordingReporter reporter;
    std::stop_source stop;
    std::thread requester;
    reporter.on_event = [&](const Event& event) {
      if (std::holds_alternative<StepStart>(event.body) && !requester.joinable())
        requester = std::thread([&stop] { stop.request_stop(); });
    };
    graph::Selection selection = graph::select_tasks(plan, {});
    RunHooks hooks;
    hooks.stop = stop.get_token();
    RunEnd end = engine::run(plan, RunSetup{"run1", selection.tasks}, transport, reporter, hooks);
    requester.join();
    CHECK(end.exit_code == 143);
    CHECK(end.reason == "interrupted by SIGTERM");
    // a's step got the grace period, then was cancelled; b never started.
    CHECK(reporter.lines("a") ==
          Lines{"step_start a t 0", "step_end a t 0 aborted", "host_end a aborted"});
    CHECK(reporter.lines("b") == Lines{"step_end b t 0 skipped", "host_end b aborted"});
  }

  TEST_CASE("run(): a signal of the hooks reaches on_signal with its count, on the run's thread") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "sleep 600"}]}}})");
    FakeTransport transport;
    transport.reply("*", "sleep", hangs());
    RecordingReporter reporter;
    reporter.on_event = [](const Event& event) {
      if (std::holds_alternative<StepStart>(event.body)) std::raise(SIGUSR1);
    };
    std::vector<std::pair<int, int>> seen;
    RunHooks hooks;
    hooks.signals = {SIGUSR1};
    hooks.on_signal = [&seen](Engine& engine, int signal, int count) {
      seen.emplace_back(signal, count);
      engine.interrupt(SIGINT, 2);  // the hook decides: here, cancel at once
    };
    graph::Selection selection = graph::select_tasks(plan, {});
    RunEnd end = engine::run(plan, RunSetup{"run1", selection.tasks}, transport, reporter, hooks);
    CHECK(seen == std::vector<std::pair<int, int>>{{SIGUSR1, 1}});
    CHECK(end.exit_code == 130);
    CHECK(transport.cancels == 1);
  }

  TEST_CASE("run(): on_tick is called while the run lasts, and never after it") {
    Plan plan = plan_text(R"({"hosts": ["a"], "policy": {"abort_grace": "1h"},
        "tasks": {"t": {"steps": [{"run": "sleep 600"}]}}})");
    FakeTransport transport;
    transport.reply("*", "sleep", hangs());
    RecordingReporter reporter;
    bool is_over = false;
    int ticks = 0;
    int ticks_after_end = 0;
    reporter.on_event = [&is_over](const Event& event) {
      if (std::holds_alternative<RunEnd>(event.body)) is_over = true;
    };
    Engine* running = nullptr;
    RunHooks hooks;
    hooks.on_start = [&running](Engine& engine, boost::asio::io_context&) { running = &engine; };
    hooks.tick = std::chrono::milliseconds(1);
    hooks.on_tick = [&](const Engine& engine) {
      ++(is_over ? ticks_after_end : ticks);
      CHECK(engine.running_steps().size() == 1);
      if (ticks == 3) running->interrupt(SIGINT, 2);  // after a few ticks, cancel the step
    };
    graph::Selection selection = graph::select_tasks(plan, {});
    RunEnd end = engine::run(plan, RunSetup{"run1", selection.tasks}, transport, reporter, hooks);
    CHECK(end.exit_code == 130);
    CHECK(ticks == 3);
    CHECK(ticks_after_end == 0);
  }
}

}  // namespace deployd::engine
