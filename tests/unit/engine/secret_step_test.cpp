// SPDX-License-Identifier: MIT
// Secret steps over a FakeTransport: their command and what they register never leave the engine.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "report/json_reporter.hpp"
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

// Every event of the run as its JSON line, joined: what any reporter or the run log could show.
std::string all_json(const RecordingReporter& reporter) {
  std::string text;
  for (const Event& event : reporter.events) text += report::event_to_json(event) + "\n";
  return text;
}

// The step_start names of `host`, in order.
Lines step_names(const RecordingReporter& reporter) {
  Lines names;
  for (const Event& event : reporter.events)
    if (auto* e = std::get_if<StepStart>(&event.body)) names.push_back(e->name);
  return names;
}

FakeReply prints(OutputStream stream, std::string text, int exit_status = 0) {
  FakeReply reply;
  reply.chunks = {{stream, std::move(text)}};
  reply.result.exit_status = exit_status;
  return reply;
}

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE(
      "a secret step's command and registered value never appear in events, later ones masked") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"run": "fetch-key CMD-TOKEN-1234", "secret": true, "register": "key"},
        {"run": "use {{key}}", "name": "use {{key}}"},
        {"run": "break {{key}}"}]}}})");
    FakeTransport transport;
    transport.reply("a", "fetch-key",
                    prints(OutputStream::Stdout, "VALUE-TOKEN-5678\nsecond-line\n"));
    transport.reply("a", "use", prints(OutputStream::Stdout, "got VALUE-TOKEN-5678!\n"));
    FakeReply broken = prints(OutputStream::Stderr, "no VALUE-TOKEN-5678 here\n");
    broken.result = ExecResult{.error = "session lost while running break VALUE-TOKEN-5678"};
    transport.reply("a", "break", broken);
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);

    CHECK(end.exit_code == 1);
    // The value really reached the later step's command: only the events are masked.
    REQUIRE(transport.commands["a"].size() == 3);
    CHECK(transport.commands["a"][1] == "sh -c 'use VALUE-TOKEN-5678\nsecond-line'");
    const std::string json = all_json(reporter);
    CHECK(json.find("CMD-TOKEN-1234") == std::string::npos);
    CHECK(json.find("VALUE-TOKEN-5678") == std::string::npos);
    CHECK(step_names(reporter) == Lines{"<secret>", "use ***", "break ***"});
    CHECK(reporter.lines("a") ==
          Lines{"step_start a t 0", "stdout a 0: <secret output: 2 lines hidden>",
                "step_end a t 0 ok", "step_start a t 1", "stdout a 1: got ***!",
                "step_end a t 1 ok", "step_start a t 2", "stderr a 2: no *** here",
                "step_end a t 2 failed", "host_end a failed"});
    // The step as the host ran it (issue 14), the secret value masked as in its step_start.
    CHECK(reporter.host_end("a").error ==
          "t step 3 (run \"break ***\"): session lost while running break ***");
  }

  TEST_CASE("a step title masks a command before cutting it: never a secret cut short") {
    // A title cut at 60 bytes ended inside the secret's line, which the mask (whole lines) missed.
    const std::string value = "SECRET-" + std::string(70, 'x');
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"run": "fetch-key", "secret": true, "register": "key"},
        {"run": "echo after {{key}}; and a plan text longer than sixty bytes to cut"}]}}})");
    FakeTransport transport;
    transport.reply("a", "fetch-key", prints(OutputStream::Stdout, value + "\n"));
    FakeReply broken;
    broken.result = ExecResult{.error = "session lost"};
    transport.reply("a", "echo", broken);
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    CHECK(all_json(reporter).find("SECRET-xxx") == std::string::npos);
    CHECK(reporter.host_end("a").error ==
          "t step 2 (run \"echo after ***; and a plan text longer than sixty bytes t...\"): "
          "session lost");
  }

  TEST_CASE("a failing secret step's error and stderr do not show its command") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"run": "deploy-key CMD-TOKEN-4321", "secret": true}]}}})");
    FakeTransport transport;
    transport.reply(
        "a", "deploy-key",
        prints(OutputStream::Stderr, "sh: deploy-key CMD-TOKEN-4321: not found\n", 127));
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    CHECK(all_json(reporter).find("CMD-TOKEN-4321") == std::string::npos);
    CHECK(reporter.lines("a")[1] == "stderr a 0: <secret output: 1 line hidden>");
    CHECK(reporter.host_end("a").error.rfind("t step 1 (run <secret>): exited with status 127",
                                             0) == 0);
  }

  TEST_CASE(
      "a secret local step's output is hidden, and what it registers is masked on every host") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {
        "token": {"on": "local", "steps": [{"local": "echo LOCAL-TOKEN-2468", "secret": true, "register": "tok"}]},
        "show": {"needs": ["token"], "steps": [{"run": "show {{tok}}"}]}}})");
    FakeTransport transport;
    transport.reply("*", "show", prints(OutputStream::Stdout, "token is LOCAL-TOKEN-2468\n"));
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 0);
    CHECK(transport.commands["b"] == Lines{"sh -c 'show LOCAL-TOKEN-2468'"});
    CHECK(all_json(reporter).find("LOCAL-TOKEN-2468") == std::string::npos);
    CHECK(reporter.lines("a")[1] == "stdout a 0: token is ***");
    CHECK(reporter.lines("local")[1] == "stdout local 0: <secret output: 1 line hidden>");
  }

  TEST_CASE("a no_log step hides its command and output but registers an ordinary value") {
    // Issue 14, bug 9: a step that holds keys registers "changed"; later "changed" stays readable.
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
        {"run": "install-key CMD-TOKEN-1234", "no_log": true, "register": "changed"},
        {"run": "echo {{changed}}", "name": "report {{changed}}"},
        {"run": "fail-key CMD-TOKEN-1234", "no_log": true}]}}})");
    FakeTransport transport;
    transport.reply("a", "install-key", prints(OutputStream::Stdout, "changed\n"));
    transport.reply("a", "echo", prints(OutputStream::Stdout, "changed\n"));
    transport.reply("a", "fail-key", prints(OutputStream::Stderr, "fail-key CMD-TOKEN-1234: no\n", 2));
    RecordingReporter reporter;
    RunEnd end = run_engine(plan, transport, reporter);
    CHECK(end.exit_code == 1);
    CHECK(all_json(reporter).find("CMD-TOKEN-1234") == std::string::npos);
    CHECK(step_names(reporter) == Lines{"<no_log>", "report changed", "<no_log>"});
    CHECK(reporter.lines("a") ==
          Lines{"step_start a t 0", "stdout a 0: <no_log output: 1 line hidden>", "step_end a t 0 ok",
                "step_start a t 1", "stdout a 1: changed", "step_end a t 1 ok", "step_start a t 2",
                "stderr a 2: <no_log output: 1 line hidden>", "step_end a t 2 failed", "host_end a failed"});
    CHECK(reporter.host_end("a").error.rfind("t step 3 (run <no_log>): exited with status 2", 0) == 0);
  }

  TEST_CASE("a short secret is masked on its own host only; a run_once task's on every host") {
    // Issue 16: host a's secret line "true" must not blank "true" in host b's output, while
    // what a run_once task registers is every host's variable, so it is masked everywhere.
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {
        "once": {"run_once": true, "steps": [{"run": "make-token", "secret": true, "register": "tok"}]},
        "t": {"needs": ["once"], "steps": [
          {"run": "probe", "secret": true, "register": "flag"}, {"run": "show"}]}}})");
    FakeTransport transport;
    transport.reply("*", "make-token", prints(OutputStream::Stdout, "t0k3\n"));
    transport.reply("a", "probe", prints(OutputStream::Stdout, "true\n"));
    transport.reply("b", "probe", prints(OutputStream::Stdout, "nope\n"));
    transport.reply("*", "show", prints(OutputStream::Stdout, "true nope t0k3\n"));
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 0);
    CHECK(reporter.lines("a").back() == "host_end a ok");
    auto shown = [&](const std::string& host) {
      Lines lines;
      for (const std::string& line : reporter.lines(host))
        if (line.starts_with("stdout")) lines.push_back(line);
      return lines;
    };
    const Lines a = shown("a");
    const Lines b = shown("b");
    CHECK(a.back() == "stdout a 1: *** nope ***");
    CHECK(b.back() == "stdout b 1: true *** ***");
  }

  TEST_CASE("a password from password_env is masked in every event") {
    ::setenv("DEPLOYD_SECRET_TEST_PW", "pw-hunter-1357", 1);
    Plan plan = plan_text(R"({"hosts": [{"name": "a", "password_env": "DEPLOYD_SECRET_TEST_PW"}],
        "tasks": {"t": {"steps": [{"run": "leak"}]}}})");
    FakeTransport transport;
    transport.reply("a", "leak",
                    prints(OutputStream::Stdout, "the password is pw-hunter-1357\n", 1));
    RecordingReporter reporter;
    run_engine(plan, transport, reporter);
    ::unsetenv("DEPLOYD_SECRET_TEST_PW");
    CHECK(all_json(reporter).find("pw-hunter-1357") == std::string::npos);
    CHECK(reporter.lines("a")[1] == "stdout a 0: the password is ***");
  }
}

}  // namespace deployd::engine
