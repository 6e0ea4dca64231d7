// SPDX-License-Identifier: MIT
// delegate_to over a FakeTransport (issue 18): where a delegated step runs, for whom, and how an
// unreachable delegate fails it.
#include <doctest/doctest.h>

#include <algorithm>

#include "engine/delegates.hpp"
#include "engine/engine.hpp"
#include "support/fake_transport.hpp"
#include "support/plan_text.hpp"
#include "support/recording_reporter.hpp"
#include "support/run_engine.hpp"

namespace deployd::engine {
namespace {

using testing::FakeTransport;
using testing::plan_text;
using testing::RecordingReporter;
using testing::run_engine;
using Lines = std::vector<std::string>;

// The `delegate` of every step_start of `host`, in order ("" for its own steps).
Lines delegates_of(const RecordingReporter& reporter, const std::string& host) {
  Lines delegates;
  for (const Event& event : reporter.events)
    if (auto* e = std::get_if<StepStart>(&event.body); e && e->host == host)
      delegates.push_back(e->delegate);
  return delegates;
}

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("a run connects to its hosts, then to each delegate that is not one of them, once") {
    Plan plan = plan_text(R"({"hosts": ["a", "b", "lb", "db"], "tasks": {
        "deploy": {"on": ["a", "b"], "steps": [
          {"run": "drain", "delegate_to": "lb"},
          {"run": "note", "delegate_to": "b"},
          {"run": "grant", "delegate_to": "lb"},
          {"run": "pack", "delegate_to": "local"}]}}})");
    Lines names;
    for (const Host* host : connected_hosts(plan, {plan.find_task("deploy")}))
      names.push_back(host->name);
    CHECK(names == Lines{"a", "b", "lb"});  // b runs the task; local is not a host; db is not used
  }

  TEST_CASE("delegated steps run on the delegate's one session with the host's variables") {
    Plan plan = plan_text(R"({"hosts": ["a", "b", "lb"], "tasks": {
        "deploy": {"on": ["a", "b"], "steps": [
          {"run": "pool remove {{host}} on {{delegate}}", "delegate_to": "lb"},
          {"run": "install"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 0);
    CHECK(end.counts.ok == 2);  // lb runs for others: it is not a host of the run
    Lines on_lb = transport.commands["lb"];
    std::sort(on_lb.begin(), on_lb.end());
    CHECK(on_lb == Lines{"sh -c 'pool remove a on lb'", "sh -c 'pool remove b on lb'"});
    CHECK(transport.commands["a"] == Lines{"sh -c 'install'"});
    CHECK(transport.connects == 3);  // a, b, and lb once for both
    CHECK(delegates_of(reporter, "a") == Lines{"lb", ""});
    CHECK(reporter.lines("a") == Lines{"step_start a deploy 0", "step_end a deploy 0 ok",
                                       "step_start a deploy 1", "step_end a deploy 1 ok",
                                       "host_end a ok"});
  }

  TEST_CASE("a delegate that cannot be reached fails the delegating host's step with the reason") {
    Plan plan = plan_text(R"({"hosts": ["a", "b", "lb"], "tasks": {
        "deploy": {"on": ["a", "b"], "steps": [{"run": "pool remove", "delegate_to": "lb"}, {"run": "install"}]}}})");
    FakeTransport transport;
    transport.refuse("lb", "connect 127.0.0.9:22: connection refused");
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    CHECK(end.counts.failed == 2);
    for (const char* host : {"a", "b"}) {
      CHECK(reporter.step_errors(host) ==
            Lines{"deploy step 1 (run \"pool remove\"): delegate_to \"lb\": connect 127.0.0.9:22: "
                  "connection refused",
                  "deploy step 2 (run \"install\"): skipped: an earlier step failed"});
      CHECK(transport.commands[host].empty());
    }
    CHECK(transport.connects == 3);  // the failure is kept: lb is tried once
  }

  TEST_CASE("delegated steps to one host run at once on lanes, kMaxSessions at most") {
    // 12 hosts delegate a slow step to lb: 10 run at once, 2 wait for a channel, and run.
    const char* text = R"({"hosts": ["h[01:12]", "lb"], "groups": {"web": ["h[01:12]"]}, "tasks": {
        "deploy": {"on": "web", "steps": [
          {"run": "pool remove {{host}}", "delegate_to": "lb"}]}}})";
    for (bool has_lanes : {true, false}) {
      CAPTURE(has_lanes);
      Plan plan = plan_text(text);
      FakeTransport transport;
      transport.has_lanes = has_lanes;
      transport.reply("lb", "pool", testing::FakeReply{.yields = 50});
      RecordingReporter reporter;
      RunEnd end = run_engine(plan, transport, reporter);
      CHECK(end.exit_code == 0);
      CHECK(end.counts.ok == 12);
      CHECK(transport.commands["lb"].size() == 12);
      CHECK(transport.most_running["lb"] == (has_lanes ? kMaxSessions : 1));
      CHECK(transport.connects == 13);  // one session to lb
      CHECK(transport.open_now == 0);   // lanes closed, then the session
    }
  }

  TEST_CASE("delegate_to local runs the step on the controller, never on a host") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {
        "deploy": {"steps": [{"run": "true {{host}} {{delegate}}", "delegate_to": "local"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 0);
    CHECK(transport.commands["a"].empty());
    CHECK(delegates_of(reporter, "a") == Lines{"local"});
  }
}

}  // namespace deployd::engine
