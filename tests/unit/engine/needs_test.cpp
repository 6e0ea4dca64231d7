// SPDX-License-Identifier: MIT
// Needs across hosts over a FakeTransport (issue 14): order, skips with their reasons, host
// outcomes and the run's exit code.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "engine/engine.hpp"
#include "support/fake_transport.hpp"
#include "support/plan_text.hpp"
#include "support/recording_reporter.hpp"
#include "support/run_engine.hpp"

namespace deployd::engine {
namespace {

using testing::exits;
using testing::FakeTransport;
using testing::plan_text;
using testing::RecordingReporter;
using testing::run_engine;
using Lines = std::vector<std::string>;

// The issue's example: facts runs once on the monitoring host, in the last wave.
constexpr const char* kFacts = R"({"hosts": ["node001", "node002", "node003", "node005"],
    "groups": {"web": ["node001", "node002", "node003"], "monitoring": ["node005"]},
    "policy": {"batches": [1]},
    "tasks": {
      "facts": {"on": "monitoring", "run_once": true, "steps": [{"run": "echo 127.0.99.5", "register": "mon_ip"}]},
      "deploy": {"on": "web", "needs": ["facts"], "steps": [{"run": "deploy {{host}} mon={{mon_ip}}"}]}}})";

// The step_end lines of the run, in order.

}  // namespace

TEST_SUITE("engine needs") {
  TEST_CASE("issue 14: a run_once need on a host of a later wave runs first, and deploy runs on every web host") {
    Plan plan = plan_text(kFacts);
    FakeTransport transport;
    testing::FakeReply ip;
    ip.chunks = {{OutputStream::Stdout, "127.0.99.5\n"}};
    transport.reply("node005", "echo", ip);
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 0);
    CHECK(end.counts.ok == 4);
    CHECK(reporter.step_end_lines().front() == "step_end node005 facts 0 ok");
    for (const char* web : {"node001", "node002", "node003"})
      CHECK(transport.commands[web] == Lines{fmt::format("sh -c 'deploy {} mon=127.0.99.5'", web)});
  }

  TEST_CASE("a cross-group need waits for every host of the needed task") {
    Plan plan = plan_text(R"({"hosts": ["web1", "web2", "nginx"],
        "groups": {"web": ["web1", "web2"]},
        "tasks": {
          "static": {"on": "web", "steps": [{"run": "build static"}]},
          "sync": {"on": "nginx", "needs": ["static"], "steps": [{"run": "sync"}]}}})");
    FakeTransport transport;
    testing::FakeReply slow;
    slow.yields = 20;
    transport.reply("web2", "static", slow);
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 0);
    CHECK(reporter.step_end_lines().back() == "step_end nginx sync 0 ok");
  }

  TEST_CASE("a cross-group need that failed on some hosts skips the task, naming them, and the host ends skipped") {
    Plan plan = plan_text(R"({"hosts": ["web01", "web02", "web03", "nginx"],
        "groups": {"web": ["web01", "web02", "web03"]},
        "tasks": {
          "static": {"on": "web", "steps": [{"run": "build static"}]},
          "sync": {"on": "nginx", "needs": ["static"], "steps": [{"run": "sync"}]},
          "tidy": {"on": "nginx", "steps": [{"run": "tidy"}]}}})");
    FakeTransport transport;
    transport.reply("web01", "static", exits(1));
    transport.reply("web03", "static", exits(1));
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    CHECK(end.counts.failed == 2);
    CHECK(end.counts.ok == 1);
    CHECK(end.counts.skipped == 1);
    CHECK(transport.commands["nginx"] == Lines{"sh -c 'tidy'"});  // what does not need it still runs
    CHECK(reporter.host_end("nginx").status == HostStatus::Skipped);
    CHECK(reporter.host_end("nginx").error == "\"static\" failed on web[01,03] (2 hosts)");
    bool explained = false;
    for (const Event& event : reporter.events)
      if (auto* e = std::get_if<StepEnd>(&event.body); e && e->host == "nginx" && e->task == "sync")
        explained = e->error.find("skipped: \"static\" failed on web[01,03] (2 hosts)") != std::string::npos;
    CHECK(explained);
  }

  TEST_CASE("a failed run_once need: the other hosts end skipped, naming it, and the run exits 1") {
    Plan plan = plan_text(kFacts);
    FakeTransport transport;
    transport.reply("node005", "echo", exits(3));
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    CHECK(end.counts.failed == 1);
    CHECK(end.counts.skipped == 3);
    CHECK(end.counts.ok + end.counts.failed + end.counts.skipped + end.counts.unreachable + end.counts.aborted == 4);
    CHECK(reporter.host_end("node001").error == "\"facts\" failed on node005");
    CHECK(transport.commands["node001"].empty());
  }

  TEST_CASE("a host with its own failure after a skip ends failed") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {
        "pack": {"on": "local", "steps": [{"local": "exit 4"}]},
        "deploy": {"needs": ["pack"], "steps": [{"run": "install"}]},
        "check": {"steps": [{"run": "check"}]}}})");
    FakeTransport transport;
    transport.reply("b", "check", exits(1));
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    CHECK(reporter.host_end("a").status == HostStatus::Skipped);
    CHECK(reporter.host_end("b").status == HostStatus::Failed);
  }

  TEST_CASE("named tasks run in command-line order on each host") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {
        "first": {"steps": [{"run": "one"}]},
        "second": {"steps": [{"run": "two"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter, {"second", "first"}).exit_code == 0);
    CHECK(transport.commands["a"] == Lines{"sh -c 'two'", "sh -c 'one'"});
  }
}

}  // namespace deployd::engine
