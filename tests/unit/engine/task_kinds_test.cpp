// SPDX-License-Identifier: MIT
// Local tasks, run_once and barrier over a FakeTransport: who runs what, and in which order.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <map>

#include "async/awaitable.hpp"
#include "engine/engine.hpp"
#include "graph/task_graph.hpp"
#include "support/fake_transport.hpp"
#include "support/plan_text.hpp"
#include "support/recording_reporter.hpp"
#include "support/run_engine.hpp"

namespace deployd::engine {
namespace {

using testing::FakeReply;
using testing::FakeTransport;
using testing::plan_text;
using testing::RecordingReporter;
using testing::run_engine;
using Lines = std::vector<std::string>;

// The step_end lines of the run, in order.

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("a local task runs once on the controller, before the remote tasks that need it") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {
        "pack": {"on": "local", "steps": [{"local": "echo dist-1.0", "register": "dist"}]},
        "deploy": {"needs": ["pack"], "steps": [{"run": "install {{dist}}"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 0);
    CHECK(end.counts.ok == 2);  // the controller is not one of the targeted hosts
    CHECK(transport.commands["a"] == Lines{"sh -c 'install dist-1.0'"});
    CHECK(transport.commands["b"] == Lines{"sh -c 'install dist-1.0'"});
    CHECK(reporter.step_end_lines().front() == "step_end local pack 0 ok");
    CHECK(reporter.lines("local").back() == "host_end local ok");
  }

  TEST_CASE("a failed local task skips what needs it on every host and fails the run") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {
        "pack": {"on": "local", "steps": [{"local": "exit 4"}]},
        "deploy": {"needs": ["pack"], "steps": [{"run": "install"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    CHECK(transport.commands["a"].empty());
    // Issue 14, bug 4: a host that ran nothing is not ok.
    CHECK(reporter.lines("a") == Lines{"step_end a deploy 0 skipped", "host_end a skipped"});
    CHECK(reporter.host_end("a").error == "local task \"pack\" failed");
    CHECK(end.counts.skipped == 2);
    CHECK(end.counts.ok == 0);
  }

  TEST_CASE("run_once runs on the first targeted host only, and every host sees what it registers") {
    Plan plan = plan_text(R"({"hosts": ["a", "b", "c"], "tasks": {
        "migrate": {"run_once": true, "steps": [{"run": "migrate", "register": "schema"}]},
        "deploy": {"needs": ["migrate"], "steps": [{"run": "deploy {{schema}}"}]}}})");
    FakeTransport transport;
    FakeReply schema;
    schema.chunks = {{OutputStream::Stdout, "v42\n"}};
    transport.reply("*", "migrate", schema);
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 0);
    CHECK(transport.commands["a"] == Lines{"sh -c 'migrate'", "sh -c 'deploy v42'"});
    CHECK(transport.commands["b"] == Lines{"sh -c 'deploy v42'"});
    CHECK(transport.commands["c"] == Lines{"sh -c 'deploy v42'"});
  }

  TEST_CASE("run_start says what runs where: local on the controller, run_once on its first host") {
    Plan plan = plan_text(R"({"hosts": ["a", "b", "c"], "tasks": {
        "pack": {"on": "local", "steps": [{"local": "true"}]},
        "migrate": {"run_once": true, "on": ["b", "c"], "steps": [{"run": "m"}]},
        "deploy": {"needs": ["pack", "migrate"], "on": ["a", "c"], "steps": [{"run": "d"}, {"run": "e"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 0);
    REQUIRE(!reporter.events.empty());
    const auto* start = std::get_if<RunStart>(&reporter.events.front().body);
    REQUIRE(start != nullptr);
    CHECK(start->host_names == Lines{"a", "b", "c"});
    REQUIRE(start->targets.size() == 3);
    std::map<std::string, std::pair<int, Lines>> targets;
    for (const TaskTargets& target : start->targets)
      targets[target.task] = {target.steps, target.hosts};
    CHECK(targets["pack"] == std::pair<int, Lines>{1, {"local"}});
    CHECK(targets["migrate"] == std::pair<int, Lines>{1, {"b"}});
    CHECK(targets["deploy"] == std::pair<int, Lines>{2, {"a", "c"}});
  }

  TEST_CASE("a barrier task starts nowhere before its need is done everywhere, even with one fork") {
    Plan plan = plan_text(R"({"hosts": ["fast", "slow"], "tasks": {
        "deploy": {"steps": [{"run": "deploy"}]},
        "restart": {"needs": ["deploy"], "barrier": true, "steps": [{"run": "restart"}]}}})");
    FakeTransport transport;
    FakeReply slow;
    slow.yields = 20;
    transport.reply("slow", "deploy", slow);
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter, {}, 1).exit_code == 0);
    Lines ends = reporter.step_end_lines();
    REQUIRE(ends.size() == 4);
    CHECK(ends[0] == "step_end fast deploy 0 ok");
    CHECK(ends[1] == "step_end slow deploy 0 ok");
    CHECK(transport.most_open <= 2);
  }

  TEST_CASE("hosts waiting at a barrier keep their session when the open files limit allows it") {
    Plan plan = plan_text(R"({"hosts": ["h1", "h2", "h3", "h4", "h5", "h6"], "tasks": {
        "deploy": {"steps": [{"run": "deploy"}]},
        "restart": {"needs": ["deploy"], "barrier": true, "steps": [{"run": "restart"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter, {}, 2).exit_code == 0);
    CHECK(transport.connects == 6);
    CHECK(transport.most_open == 6);  // forks bound hosts worked on, not sessions held at a barrier
  }

  TEST_CASE("with more hosts than sessions fit, hosts waiting at a barrier close theirs and connect again") {
    // Issue 9: `ulimit -n 256` with 1000 hosts ran out of descriptors at the first barrier.
    Plan plan = plan_text(R"({"hosts": ["h1", "h2", "h3", "h4", "h5", "h6"], "tasks": {
        "deploy": {"steps": [{"run": "deploy"}]},
        "restart": {"needs": ["deploy"], "barrier": true, "steps": [{"run": "restart"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter, {}, 2, 2);
    CHECK(end.exit_code == 0);
    CHECK(end.counts.ok == 6);
    CHECK(transport.most_open <= 2);
    CHECK(transport.connects > 6);
    for (const std::string host : {"h1", "h2", "h3", "h4", "h5", "h6"})
      CHECK(transport.commands[host] == Lines{"sh -c 'deploy'", "sh -c 'restart'"});
  }

  TEST_CASE("a host that cannot connect again after a barrier is unreachable and says why") {
    Plan plan = plan_text(R"({"hosts": ["h1", "h2", "h3"], "tasks": {
        "deploy": {"steps": [{"run": "deploy"}]},
        "restart": {"needs": ["deploy"], "barrier": true, "steps": [{"run": "restart"}]}}})");
    FakeTransport transport;
    transport.refuse_after["h1"] = 1;
    FakeReply slow;
    slow.yields = 20;  // h1 surely waits for h3 at the barrier
    transport.reply("h3", "deploy", slow);
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter, {}, 1, 1);
    CHECK(end.exit_code == 1);
    CHECK(end.counts.unreachable == 1);
    CHECK(reporter.lines("h1") == Lines{"step_start h1 deploy 0", "step_end h1 deploy 0 ok",
                                        "step_end h1 restart 0 skipped",
                                        "host_end h1 unreachable"});
    bool explained = false;
    for (const Event& event : reporter.events)
      if (auto* e = std::get_if<HostEnd>(&event.body); e && e->host == "h1")
        explained = e->error == "connecting again after waiting for other hosts: connection refused";
    CHECK(explained);
  }

  TEST_CASE("without a barrier the fast host restarts before the slow one has deployed") {
    Plan plan = plan_text(R"({"hosts": ["fast", "slow"], "tasks": {
        "deploy": {"steps": [{"run": "deploy"}]},
        "restart": {"needs": ["deploy"], "steps": [{"run": "restart"}]}}})");
    FakeTransport transport;
    FakeReply slow;
    slow.yields = 20;
    transport.reply("slow", "deploy", slow);
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    CHECK(reporter.step_end_lines()[1] == "step_end fast restart 0 ok");
  }

  TEST_CASE("a local task needing every wave, needed by the first, runs the later waves' need early") {
    // This used to stop as "stuck" (exit 3): b's deploy now runs in the first wave.
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "policy": {"batches": [1]}, "tasks": {
        "deploy": {"steps": [{"run": "deploy"}]},
        "notify": {"on": "local", "needs": ["deploy"], "steps": [{"local": "true"}]},
        "verify": {"needs": ["notify"], "steps": [{"run": "verify"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 0);
    CHECK(end.counts.ok == 2);
    CHECK(reporter.step_end_lines() == Lines{"step_end a deploy 0 ok", "step_end b deploy 0 ok",
                                             "step_end local notify 0 ok", "step_end a verify 0 ok",
                                             "step_end b verify 0 ok"});
  }
}

}  // namespace deployd::engine
