// SPDX-License-Identifier: MIT
// Tests of src/engine/transfer_step.cpp over a FakeTransport: paths, mode, events, failures.
#include "engine/transfer_step.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include "async/awaitable.hpp"
#include "engine/engine.hpp"
#include "graph/task_graph.hpp"
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


// The step_end events of `host`, in order.
std::vector<StepEnd> step_ends(const RecordingReporter& reporter, const std::string& host) {
  std::vector<StepEnd> out;
  for (const Event& event : reporter.events)
    if (auto* end = std::get_if<StepEnd>(&event.body); end && end->host == host)
      out.push_back(*end);
  return out;
}

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("put and get resolve their paths per host and report what they moved") {
    Plan plan =
        plan_text(R"({"hosts": ["a", "b"], "vars": {"app": "shop"}, "tasks": {"t": {"steps": [
        {"put": "dist/{{app}}.tgz", "to": "/srv/{{host}}/{{app}}.tgz", "mode": "0640"},
        {"get": "/var/log/{{app}}.log", "to": "logs/{{host}}.log"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 0);
    REQUIRE(transport.puts["a"].size() == 1);
    const PutRequest& put = transport.puts["a"][0];
    CHECK(put.local_path == "./dist/shop.tgz");
    CHECK(put.remote_path == "/srv/a/shop.tgz");
    CHECK(put.mode == 0640u);
    CHECK(put.temp_tag == "run1");
    REQUIRE(transport.gets["b"].size() == 1);
    CHECK(transport.gets["b"][0].remote_path == "/var/log/shop.log");
    CHECK(transport.gets["b"][0].local_path == "./logs/b.log");
    CHECK(reporter.lines("a") == Lines{"step_start a t 0", "step_end a t 0 ok", "step_start a t 1",
                                       "step_end a t 1 ok", "host_end a ok"});
    std::vector<StepEnd> ends = step_ends(reporter, "a");
    REQUIRE(ends.size() == 2);
    REQUIRE(ends[0].transfer.has_value());
    CHECK(ends[0].transfer->bytes == 1024);
    CHECK_FALSE(ends[0].transfer->unchanged);
  }

  TEST_CASE("sudo, owner, group and recursive reach the transport, interpolated per host") {
    // issue 18: a `cd` block's sudo is inherited; owner and group use the host's variables.
    Plan plan =
        plan_text(R"({"hosts": [{"name": "a", "vars": {"svc": "www-a"}}], "tasks": {"t": {"steps": [
        {"cd": "/etc", "sudo": "{{svc}}", "steps": [
          {"put": "app.conf", "to": "app.conf", "owner": "{{svc}}", "group": "adm"}]},
        {"get": "/var/log/app", "to": "logs/{{host}}", "recursive": true},
        {"get": "/root/.env", "to": "env/{{host}}", "sudo": true},
        {"put": "site", "to": "/srv/site", "recursive": true}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 0);
    REQUIRE(transport.puts["a"].size() == 2);
    const PutRequest& put = transport.puts["a"][0];
    CHECK(put.remote_path == "/etc/app.conf");
    CHECK(put.sudo_user == "www-a");
    CHECK(put.owner == "www-a");
    CHECK(put.group == "adm");
    CHECK_FALSE(put.recursive);
    CHECK(transport.puts["a"][1].recursive);
    CHECK_FALSE(transport.puts["a"][1].sudo_user.has_value());
    CHECK(transport.puts["a"][1].owner == "");
    REQUIRE(transport.gets["a"].size() == 2);
    CHECK(transport.gets["a"][0].recursive);
    CHECK_FALSE(transport.gets["a"][0].sudo_user.has_value());
    CHECK(transport.gets["a"][1].sudo_user == "");
    CHECK_FALSE(transport.gets["a"][1].recursive);
  }

  TEST_CASE("an unchanged remote file is reported as such") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"put": "/abs/app.tgz", "to": "app.tgz"}]}}})");
    FakeTransport transport;
    transport.transfer_result("*", "app.tgz", TransferResult{0, true, "", false});
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 0);
    CHECK(transport.puts["a"][0].local_path == "/abs/app.tgz");
    CHECK_FALSE(transport.puts["a"][0].mode.has_value());
    std::vector<StepEnd> ends = step_ends(reporter, "a");
    REQUIRE(ends.size() == 1);
    REQUIRE(ends[0].transfer.has_value());
    CHECK(ends[0].transfer->unchanged);
  }

  TEST_CASE("a relative remote path inside a cd block is joined with its folder") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"cd": "/srv/app", "steps": [{"put": "/abs/x", "to": "x"}, {"get": "y", "to": "/tmp/y"}]}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 0);
    CHECK(transport.puts["a"][0].remote_path == "/srv/app/x");
    CHECK(transport.gets["a"][0].remote_path == "/srv/app/y");
  }

  TEST_CASE("a leading ~/ in a remote path is the login folder, SFTP's start, also inside a cd") {
    // Issue 16 #15: `~` was sent quoted and never expanded.
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"put": "/abs/x", "to": "~/x"}, {"get": "~", "to": "/tmp/home"},
        {"cd": "~/app", "steps": [{"get": "y", "to": "/tmp/y"}, {"put": "/abs/z", "to": "/etc/z"}]}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 0);
    CHECK(transport.puts["a"][0].remote_path == "x");
    CHECK(transport.gets["a"][0].remote_path == ".");
    CHECK(transport.gets["a"][1].remote_path == "app/y");
    CHECK(transport.puts["a"][1].remote_path == "/etc/z");
  }

  TEST_CASE("host output may not lead a get outside the plan's folder") {
    // Issue 16 #3: `../../x` in a get destination wrote outside the plan folder.
    Plan plan = plan_text(R"({"hosts": ["a", "b", "c"], "tasks": {"t": {"steps": [
        {"run": "name", "register": "n"},
        {"get": "/etc/motd", "to": "fetched/{{n}}"}]}}})");
    FakeTransport transport;
    testing::FakeReply good;
    good.chunks = {{OutputStream::Stdout, "a.txt\n"}};
    testing::FakeReply up;
    up.chunks = {{OutputStream::Stdout, "../../x\n"}};
    testing::FakeReply absolute;
    absolute.chunks = {{OutputStream::Stdout, "/root/.ssh/authorized_keys\n"}};
    transport.reply("a", "name", good);
    transport.reply("b", "name", up);
    transport.reply("c", "name", absolute);
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    REQUIRE(transport.gets["a"].size() == 1);
    CHECK(transport.gets["a"][0].local_path == "./fetched/a.txt");
    CHECK(transport.gets["b"].empty());
    CHECK(transport.gets["c"].empty());
    CHECK(step_ends(reporter, "b").at(1).error ==
          "t step 2 (get \"/etc/motd\"): variable \"n\" is host output (registered, for host \"b\") "
          "and cannot name a path on the controller: \"../../x\" has a \"..\" component");
    CHECK(step_ends(reporter, "c").at(1).error ==
          "t step 2 (get \"/etc/motd\"): variable \"n\" is host output (registered, for host \"c\") "
          "and cannot name a path on the controller: \"/root/.ssh/authorized_keys\" is an absolute path");
  }

  TEST_CASE("a failed transfer fails the host with the step, the path and the cause") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {"t": {"steps": [
        {"put": "/abs/x", "to": "/srv/{{host}}/x"}, {"run": "echo after"}]}}})");
    FakeTransport transport;
    transport.transfer_result(
        "a", "/srv/a/x",
        TransferResult{0, false, "put \"/srv/a/x\": remote folder \"/srv/a\" does not exist",
                       false});
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    CHECK(reporter.lines("a") == Lines{"step_start a t 0", "step_end a t 0 failed",
                                       "step_end a t 1 skipped", "host_end a failed"});
    CHECK(step_ends(reporter, "a")[0].error ==
          "t step 1 (put \"/abs/x\"): put \"/srv/a/x\": remote folder \"/srv/a\" does not exist");
    CHECK_FALSE(step_ends(reporter, "a")[0].transfer.has_value());
    CHECK(transport.commands["b"] == Lines{"sh -c 'echo after'"});
  }

  TEST_CASE("a transfer that outlasts its step timeout is stopped and fails the host, saying so") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {"t": {"steps": [
        {"put": "/abs/x", "to": "/srv/x", "timeout": "50ms"}, {"run": "echo after"}]}}})");
    FakeTransport transport;
    transport.stalled_transfers.insert("a");
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    CHECK(transport.cancels == 1);
    CHECK(reporter.lines("a") == Lines{"step_start a t 0", "step_end a t 0 failed",
                                       "step_end a t 1 skipped", "host_end a failed"});
    CHECK(step_ends(reporter, "a")[0].error ==
          "t step 1 (put \"/abs/x\"): timed out after 50ms; the connection was dropped to stop the transfer");
    CHECK(transport.commands["b"] == Lines{"sh -c 'echo after'"});
  }

  TEST_CASE("a task's policy timeout applies to its transfers too") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"policy": {"timeout": "50ms"}, "steps": [
        {"get": "/srv/log", "to": "/tmp/deployd-unit-get-log"}]}}})");
    FakeTransport transport;
    transport.stalled_transfers.insert("a");
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 1);
    CHECK(step_ends(reporter, "a")[0].error.ends_with("timed out after 50ms; the connection was dropped to stop "
                                                     "the transfer"));
  }

  TEST_CASE("get passes its mode and max_size to the transport") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"get": "/srv/secret", "to": "out/{{host}}", "mode": "0600", "max_size": "1K"},
        {"get": "/srv/log", "to": "log/{{host}}"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 0);
    REQUIRE(transport.gets["a"].size() == 2);
    CHECK(transport.gets["a"][0].mode == 0600u);
    CHECK(transport.gets["a"][0].max_size == 1024u);
    CHECK(transport.gets["a"][1].mode == std::nullopt);  // the remote file's bits
    CHECK(transport.gets["a"][1].max_size == std::nullopt);
  }

  TEST_CASE("two hosts that get into one local path at run time: the second fails before writing") {
    // {{run.id}} (like a registered value) escapes the load-time check of get paths (issue 16).
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {"t": {"steps": [
        {"get": "/srv/log", "to": "logs/{{run.id}}.log"}]}, "u": {"needs": ["t"], "steps": [
        {"get": "/srv/log", "to": "logs/{{run.id}}.log"}]}}})");
    FakeTransport transport;
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 1);
    const std::string winner = transport.gets["a"].empty() ? "b" : "a";
    const std::string loser = winner == "a" ? "b" : "a";
    CHECK(transport.gets[loser].empty());  // the loser never reached the transport
    CHECK(transport.gets[winner].size() == 2);  // another task may get into the path again
    REQUIRE(!step_ends(reporter, loser).empty());
    CHECK(step_ends(reporter, loser)[0].error ==
          "t step 1 (get \"/srv/log\"): host " + winner +
              " already gets a file into \"./logs/run1.log\" in this task: put \"{{host}}\" in \"to\" "
              "so that each host writes its own");
  }

  TEST_CASE("modes are read as octal") {
    CHECK(parse_mode("0644") == 0644u);
    CHECK(parse_mode("755") == 0755u);
    CHECK_FALSE(parse_mode("0648").has_value());
    CHECK_FALSE(parse_mode("").has_value());
  }
}

}  // namespace deployd::engine
