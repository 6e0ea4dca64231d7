// SPDX-License-Identifier: MIT
// Model-based test of the task graph and scheduler (issue 14): random plans run through the
// real engine over the fake transport, judged by an independent reference model of
// the needs rules of docs/plan-format.md (R1-R5 in the comments). No timings asserted.
//
//   DEPLOYD_MODEL_CASES=20000   how many random cases (default below; a fifth under ASan)
//   DEPLOYD_MODEL_SEED=123      the first case's seed (default fixed; "random": from the clock)
//   DEPLOYD_MODEL_FEATURES=-waves,-limit   switch generator features or checks off (or on)
//   DEPLOYD_MODEL_PRINT=10      how many failing cases to shrink and print (default 3)
//
// A failing case prints its seed, a shrunk copy of it as JSON and the regression test to add
// below: `check_case(R"json(...)json");`.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>

#include "model/case_generator.hpp"
#include "model/model_case.hpp"
#include "model/model_run.hpp"
#include "model/reference_model.hpp"
#include "support/recording_reporter.hpp"

namespace deployd::model {
namespace {

constexpr int kDefaultCases = 3000;
constexpr std::uint64_t kDefaultSeed = 20261207;
constexpr int kPrintedFailures = 3;  // each is shrunk, which costs hundreds of runs

/// The features in force: everything, then DEPLOYD_MODEL_FEATURES.
Features features_in_force() {
  Features features;
  if (const char* spec = std::getenv("DEPLOYD_MODEL_FEATURES")) {
    std::string unknown = apply_features(spec, features);
    if (!unknown.empty()) FAIL("DEPLOYD_MODEL_FEATURES: unknown switch " << unknown);
  }
  return features;
}

std::string first_rule(const std::vector<std::string>& discrepancies) {
  return discrepancies.empty() ? ""
                               : discrepancies.front().substr(0, discrepancies.front().find(':'));
}

std::vector<std::string> judge(const Case& c, const Checks& checks) {
  return check(c, observe(c), checks);
}

/// How often the random cases reached what the rules are about: a generator that stopped
/// reaching some of it would pass for nothing.
struct Coverage {
  int refused = 0;
  int retried = 0;
  int failed_runs = 0;
  int aborted = 0;
  int skipped_hosts = 0;  ///< runs with a host ended `skipped` (R4)
  int waves = 0;          ///< plans with policy.batches
  int local = 0;
  int handlers_ran = 0;    ///< runs in which a handler ran (issue 17)
  int not_notified = 0;    ///< runs in which a handler was skipped: not notified
  int unchanged_puts = 0;  ///< runs with a put that changed nothing
  int rolling = 0;         ///< plans with a task's own serial or batches
  int failure_steps = 0;   ///< runs in which a host's failure() or always() steps ran
  int when_false = 0;      ///< runs in which a when skipped a step

  void add(const Case& c, const Observation& seen) {
    refused += !seen.refusal.empty();
    retried += seen.retry != nullptr;
    local += c.plan["tasks"].dump().find("\"local\"") != std::string::npos;
    waves += c.plan.contains("policy") && c.plan["policy"].contains("batches");
    rolling += c.plan["tasks"].dump().find("\"serial\"") != std::string::npos ||
               c.plan["tasks"].dump().find("\"batches\"") != std::string::npos;
    bool failed = false, skipped = false, ran = false, not_run = false, unchanged = false;
    bool rescued = false, when = false;
    for (const Event& event : seen.events) {
      if (auto* start = std::get_if<StepStart>(&event.body))
        ran = ran || c.plan["tasks"][start->task].value("handler", false);
      if (auto* end = std::get_if<HostEnd>(&event.body))
        rescued = rescued || end->error.find("failure step") != std::string::npos;
      if (auto* end = std::get_if<StepEnd>(&event.body)) {
        when = when || end->error.find("skipped: when ") != std::string::npos;
        not_run = not_run || end->error.find("not notified") != std::string::npos;
        unchanged = unchanged || (end->transfer && end->transfer->unchanged);
      }
      if (auto* end = std::get_if<RunEnd>(&event.body)) {
        failed = end->exit_code != 0;
        aborted += end->status == RunStatus::Aborted;
      }
      if (auto* end = std::get_if<HostEnd>(&event.body))
        skipped = skipped || end->status == HostStatus::Skipped;
    }
    failed_runs += failed;
    skipped_hosts += skipped;
    handlers_ran += ran;
    not_notified += not_run;
    unchanged_puts += unchanged;
    failure_steps += rescued;
    when_false += when;
  }
  std::string text() const {
    return fmt::format(
        "refused {}, retried {}, failed {}, aborted {}, with a skipped host {}, with batches {}, "
        "with local tasks {}, a handler ran {}, a handler not notified {}, an unchanged put {}, "
        "a task's own serial/batches {}, failure steps ran {}, a when skipped a step {}",
        refused, retried, failed_runs, aborted, skipped_hosts, waves, local, handlers_ran,
        not_notified, unchanged_puts, rolling, failure_steps, when_false);
  }
};

bool mentions(const std::vector<std::string>& discrepancies, const std::string& rule) {
  return std::any_of(discrepancies.begin(), discrepancies.end(),
                     [&](const std::string& line) { return line.rfind(rule + ":", 0) == 0; });
}

/// The event lines of a run, for a failure report.
std::string event_lines(const Observation& seen) {
  testing::RecordingReporter reporter;
  for (const Event& event : seen.events) reporter.on(event);
  std::string text;
  for (const std::string& line : reporter.lines()) {
    if (line.rfind("stdout", 0) == 0 || line.rfind("stderr", 0) == 0) continue;
    text += "    " + line + "\n";
  }
  return text;
}

/// Everything needed to understand and replay a failing case.
std::string failure_report(const Case& c, const Checks& checks, const std::string& title) {
  Observation seen = observe(c);
  std::vector<std::string> discrepancies = check(c, seen, checks);
  std::string text = title + "\n  case: " + to_text(c) + "\n  discrepancies:\n";
  for (const std::string& line : discrepancies) text += "    " + line + "\n";
  for (const std::string& line : seen.refusal) text += "  refused: " + line + "\n";
  text += "  events:\n" + event_lines(seen);
  if (seen.retry) text += "  events of the --retry-failed run:\n" + event_lines(*seen.retry);
  if (mentions(discrepancies, "dry-run")) text += "  --dry-run:\n" + seen.dry_run;
  if (mentions(discrepancies, "graph")) text += "  --graph:\n" + seen.graph;
  text += "  as a regression test:\n    check_case(R\"json(" + to_text(c) + ")json\");\n";
  return text;
}

/// A case that once failed, as printed by the random test: it must agree with the model now.
void check_case(std::string_view text) {
  Case c = case_from_text(text);
  Checks checks = features_in_force().checks;
  std::vector<std::string> discrepancies = judge(c, checks);
  if (!discrepancies.empty()) FAIL_CHECK(failure_report(c, checks, "regression case"));
}

/// An event at no particular time: the model reads only their order.
Event event(decltype(Event::body) body) { return Event{Clock::time_point{}, std::move(body)}; }

StepEnd step_end(const std::string& host, const std::string& task, StepStatus status) {
  StepEnd end;
  end.host = host;
  end.task = task;
  end.status = status;
  end.changed = status == StepStatus::Ok;  // a run step that succeeded changed its host
  return end;
}

/// The checks of runs written by hand, which have no --dry-run text.
Checks events_only() {
  Checks checks;
  checks.dry_run_waits = false;
  checks.graph_edges = false;
  return checks;
}

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  if (std::string(value) == "random")
    return static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) %
           1'000'000'000;
  return std::strtoull(value, nullptr, 10);
}

}  // namespace

TEST_SUITE("model") {
  // The model itself: runs that break a rule, written by hand, are caught.
  TEST_CASE(
      "the model catches a host reported ok whose job was skipped because a local task failed") {
    Case c = case_from_text(R"json({"plan": {"hosts": ["a"], "tasks": {
        "build": {"on": "local", "steps": [{"local": "make"}]},
        "deploy": {"needs": "build", "steps": [{"run": "deploy"}]}}}, "fail": ["build@local#0"]})json");
    Observation seen;
    seen.ended = true;
    RunEnd end{RunStatus::Failed, 1, {}, 0};
    end.counts.ok = 1;
    seen.events = {event(RunStart{"r", "plan.json", 1, {"build", "deploy"}, ""}),
                   event(StepStart{"local", "build", 0, "make"}),
                   event(step_end("local", "build", StepStatus::Failed)),
                   event(HostEnd{"local", HostStatus::Failed, "build failed"}),
                   event(step_end("a", "deploy", StepStatus::Skipped)),
                   event(HostEnd{"a", HostStatus::Ok, ""}),
                   event(end)};
    std::vector<std::string> discrepancies = check(c, seen, events_only());
    CHECK(mentions(discrepancies, "R4"));
    CHECK_FALSE(mentions(discrepancies, "R2"));  // the job itself was rightly skipped
  }

  TEST_CASE("the model catches a job that starts before a need on other hosts has ended") {
    Case c = case_from_text(R"json({"plan": {"hosts": ["a", "b"], "groups": {"g": ["b"]}, "tasks": {
        "static": {"on": "g", "steps": [{"run": "static"}]},
        "sync": {"on": "a", "needs": "static", "steps": [{"run": "sync"}]}}}})json");
    Observation seen;
    seen.ended = true;
    RunEnd end{RunStatus::Ok, 0, {}, 0};
    end.counts.ok = 2;
    seen.events = {event(RunStart{"r", "plan.json", 2, {"static", "sync"}, ""}),
                   event(StepStart{"a", "sync", 0, "sync"}),
                   event(StepStart{"b", "static", 0, "static"}),
                   event(step_end("a", "sync", StepStatus::Ok)),
                   event(step_end("b", "static", StepStatus::Ok)),
                   event(HostEnd{"a", HostStatus::Ok, ""}),
                   event(HostEnd{"b", HostStatus::Ok, ""}),
                   event(end)};
    std::vector<std::string> discrepancies = check(c, seen, events_only());
    REQUIRE(discrepancies.size() == 1);
    CHECK(discrepancies.front() == "R1: sync@a started before static@b ended (all-host need)");
  }

  TEST_CASE(
      "the model catches a run that does not end, and a job run on a host it does not target") {
    Case c = case_from_text(R"json({"plan": {"hosts": ["a", "b"], "tasks": {
        "once": {"run_once": true, "steps": [{"run": "migrate"}]}}}})json");
    Observation hung;
    hung.hang = "every host waits";
    CHECK(check(c, hung, events_only()) == std::vector<std::string>{"hang: every host waits"});
    Observation seen;
    seen.ended = true;
    RunEnd end{RunStatus::Ok, 0, {}, 0};
    end.counts.ok = 2;
    seen.events = {event(RunStart{"r", "plan.json", 2, {"once"}, ""}),
                   event(StepStart{"a", "once", 0, "migrate"}),
                   event(step_end("a", "once", StepStatus::Ok)),
                   event(StepStart{"b", "once", 0, "migrate"}),
                   event(step_end("b", "once", StepStatus::Ok)),
                   event(HostEnd{"a", HostStatus::Ok, ""}),
                   event(HostEnd{"b", HostStatus::Ok, ""}),
                   event(end)};
    CHECK(mentions(check(c, seen, events_only()), "jobs"));
  }

  // Cases the random test found on main (d785519) before issue 14 was fixed, shrunk.
  TEST_CASE(
      "issue 14 bug 1: a need on a run_once task whose host is in a later wave runs it first") {
    check_case(
        R"json({"plan": {"groups": {"web": ["node001", "node002", "node003"], "monitoring": ["node005"]},
        "hosts": ["node001", "node002", "node003", "node005"], "policy": {"batches": [1]}, "tasks": {
        "facts": {"on": "monitoring", "run_once": true, "steps": [{"run": "echo 127.0.99.5", "register": "mon_ip"}]},
        "deploy": {"on": "web", "needs": ["facts"], "steps": [{"run": "echo deploy {{host}} mon={{mon_ip}}"}]}}}})json");
    check_case(
        R"json({"plan":{"version":1,"hosts":["h01","h05"],"groups":{},"tasks":{"t1":{"on":"h05","run_once":true,"steps":[{"run":"run t1#0."}]},"t2":{"needs":["t1"],"on":"all","steps":[{"run":"run t2#0."}]}},"policy":{"batches":["20%"]}}})json");
  }

  TEST_CASE(
      "issue 14 bug 2: a need on the task of other hosts waits for all of them, and their failure "
      "skips") {
    check_case(
        R"json({"plan":{"version":1,"hosts":["h06","h07"],"groups":{"g1":["h07"]},"tasks":{"t1":{"on":"g1","steps":[{"run":"run t1#0."}]},"t2":{"needs":["t1"],"on":"all","steps":[{"run":"run t2#0."}]}}}})json");
    check_case(
        R"json({"plan": {"hosts": ["web1", "web2", "nginx"], "groups": {"web": ["web1", "web2"]}, "tasks": {
        "static": {"on": "web", "steps": [{"run": "build static"}]},
        "sync": {"on": "nginx", "needs": ["static"], "steps": [{"run": "rsync static"}]}}}, "fail": ["static@web2#0"]})json");
    // A local task needs a remote one that failed: skipped, so is what needs it.
    check_case(
        R"json({"plan":{"version":1,"hosts":["h04"],"groups":{},"tasks":{"t0":{"needs":["t5"],"on":"local","steps":[{"local":"true"}]},"t3":{"needs":["t4"],"on":"local","steps":[{"local":"true"}]},"t4":{"on":"all","steps":[{"run":"run t4#0."}]},"t5":{"on":"all","steps":[{"run":"run t5#0."}]}}},"fail":["t3@local#0","t4@h04#0"]})json");
  }

  TEST_CASE("the model catches a handler that runs although its notifier changed nothing") {
    Case c = case_from_text(R"json({"plan": {"hosts": ["a"], "tasks": {
        "config": {"steps": [{"put": "nginx.conf", "to": "/etc/nginx.conf", "notify": "reload"}]},
        "reload": {"handler": true, "steps": [{"run": "reload"}]}}},
        "unchanged": ["config@a#0"]})json");
    Observation seen;
    seen.ended = true;
    RunEnd end{RunStatus::Ok, 0, {}, 0};
    end.counts.ok = 1;
    StepEnd put = step_end("a", "config", StepStatus::Ok);
    put.changed = false;  // the remote file was equal
    seen.events = {event(RunStart{"r", "plan.json", 1, {"config", "reload"}, ""}),
                   event(StepStart{"a", "config", 0, "put"}),
                   event(put),
                   event(StepStart{"a", "reload", 0, "reload"}),
                   event(step_end("a", "reload", StepStatus::Ok)),
                   event(HostEnd{"a", HostStatus::Ok, ""}),
                   event(end)};
    std::vector<std::string> discrepancies = check(c, seen, events_only());
    REQUIRE(discrepancies.size() == 1);
    CHECK(discrepancies.front() ==
          "D17: reload@a should be not notified [skipped] (no step of its notifiers changed a), "
          "but was [ok]");
  }

  TEST_CASE("the model catches a failure() step that ran although no step before it failed") {
    Case c = case_from_text(R"json({"plan": {"hosts": ["a"], "tasks": {
        "deploy": {"steps": [{"run": "switch"}, {"run": "rollback", "when": "failure()"}]}}}})json");
    Observation seen;
    seen.ended = true;
    RunEnd end{RunStatus::Ok, 0, {}, 0};
    end.counts.ok = 1;
    StepEnd rollback = step_end("a", "deploy", StepStatus::Ok);
    rollback.step = 1;
    seen.events = {event(RunStart{"r", "plan.json", 1, {"deploy"}, ""}),
                   event(StepStart{"a", "deploy", 0, "switch"}),
                   event(step_end("a", "deploy", StepStatus::Ok)),
                   event(StepStart{"a", "deploy", 1, "rollback"}),
                   event(rollback),
                   event(HostEnd{"a", HostStatus::Ok, ""}),
                   event(end)};
    std::vector<std::string> discrepancies = check(c, seen, events_only());
    REQUIRE(discrepancies.size() == 1);
    CHECK(discrepancies.front() ==
          "steps: deploy@a should be ok [ok skipped] (its needs succeeded), but was [ok ok]");
  }

  TEST_CASE("the model catches two hosts inside a task of serial 1, and a put said changed") {
    Case c = case_from_text(R"json({"plan": {"hosts": ["a", "b"], "tasks": {
        "restart": {"policy": {"serial": 1}, "steps": [{"put": "x", "to": "/tmp/x"}]}}},
        "unchanged": ["restart@b#0"]})json");
    Observation seen;
    seen.ended = true;
    RunEnd end{RunStatus::Ok, 0, {}, 0};
    end.counts.ok = 2;
    seen.events = {event(RunStart{"r", "plan.json", 2, {"restart"}, ""}),
                   event(StepStart{"a", "restart", 0, "put"}),
                   event(StepStart{"b", "restart", 0, "put"}),
                   event(step_end("a", "restart", StepStatus::Ok)),
                   event(step_end("b", "restart", StepStatus::Ok)),
                   event(HostEnd{"a", HostStatus::Ok, ""}),
                   event(HostEnd{"b", HostStatus::Ok, ""}),
                   event(end)};
    std::vector<std::string> discrepancies = check(c, seen, events_only());
    REQUIRE(discrepancies.size() == 2);
    CHECK(discrepancies[0] == "changed: restart@b step 0 (put ok) is reported changed");
    CHECK(discrepancies[1] == "serial: 2 hosts inside restart at once (event 2), serial allows 1");
  }

  TEST_CASE("D16: a barrier handler pulled into an earlier wave pulls its notifiers' jobs too") {
    // Was stuck and aborted: t4 on h08 (wave 1) waits for the handler t3 on every host of gh,
    // h16 (wave 2) too, which waits like a barrier for t8 on waves 1-2; t8 on h14 stayed in
    // wave 2, which could not start.
    check_case(
        R"json({"plan":{"version":1,"hosts":["h08",{"name":"h10","groups":["gh"]},{"name":"h11","groups":["gh"]},"h12",{"name":"h13","groups":["gh"]},"h14",{"name":"h16","groups":["gh"]}],"groups":{},"tasks":{"t3":{"handler":true,"on":"gh","barrier":true,"steps":[{"run":"run t3#0."}]},"t4":{"needs":["t3"],"on":"all","steps":[{"run":"run t4#0."}]},"t8":{"on":"all","steps":[{"run":"run t8#0.","notify":"t3"}]}},"policy":{"batches":["67%"]}}})json");
    check_case(
        R"json({"plan":{"version":1,"hosts":["h08","h09","h10","h11"],"groups":{},"tasks":{"t3":{"needs":["t7"],"on":"local","steps":[{"local":"true"}]},"t6":{"needs":["t8"],"on":"all","steps":[{"run":"run t6#0."}]},"t7":{"handler":true,"on":"all","steps":[{"run":"run t7#1.","notify":"t8"}]},"t8":{"handler":true,"on":["h08","h11"],"barrier":true,"steps":[{"run":"run t8#0."}]}},"policy":{"batches":[2]}}})json");
    check_case(
        R"json({"plan":{"version":1,"hosts":[{"name":"h02","groups":["gh"]},{"name":"h03","groups":["gh"]},"h04"],"groups":{},"tasks":{"t0":{"handler":true,"on":"h04","barrier":true,"steps":[{"run":"run t0#0."}]},"t2":{"handler":true,"on":"all","steps":[{"run":"run t2#1.","notify":"t4"}]},"t4":{"handler":true,"needs":["t0"],"on":"all","steps":[{"put":"model.txt","to":"/tmp/t4-0.put"}]},"t5":{"on":"all","steps":[{"run":"run t5#0.","notify":"t2"},{"run":"run t5#1.","notify":"t0"}]}},"policy":{"batches":[1]}}})json");
  }

  TEST_CASE("issue 14 bug 4: hosts whose jobs a failed local task skipped end skipped, exit 1") {
    check_case(R"json({"plan": {"hosts": ["a", "b"], "tasks": {
        "build": {"on": "local", "steps": [{"local": "make"}]},
        "deploy": {"needs": ["build"], "steps": [{"run": "deploy"}]}}}, "fail": ["build@local#0"]})json");
  }

  TEST_CASE("R1: a wave never waits on a local task that waits for a later wave (no deadlock)") {
    check_case(
        R"json({"plan":{"version":1,"hosts":["h02","h06"],"groups":{},"tasks":{"t0":{"needs":["t1"],"on":"local","steps":[{"local":"true"}]},"t1":{"on":"all","steps":[{"run":"run t1#0."}]},"t2":{"on":"local","steps":[{"local":"true"}]},"t4":{"needs":["t2"],"on":"all","steps":[{"run":"run t4#0."}]}},"policy":{"batches":["50%"]}}})json");
  }

  TEST_CASE("R3: --limit leaving out every host of a needed task is refused, naming it") {
    check_case(
        R"json({"plan":{"version":1,"hosts":["h06","h07"],"groups":{},"tasks":{"t2":{"needs":["t4"],"on":"all","steps":[{"run":"run t2#0."}]},"t4":{"on":["h06"],"steps":[{"run":"run t4#0."}]}}},"limit":["h07"]})json");
    check_case(
        R"json({"plan":{"version":1,"hosts":["h08"],"groups":{},"tasks":{"t2":{"on":"local","steps":[{"local":"true"}]}}},"limit":["h0[1-3]"]})json");
  }

  TEST_CASE("F1: --graph labels a run_once task's need by the host it runs on (barrier here)") {
    check_case(
        R"json({"plan":{"version":1,"hosts":["h03","h07"],"groups":{},"tasks":{"t0":{"needs":["t1"],"on":"all","run_once":true,"steps":[{"run":"run t0#0."}]},"t1":{"on":"h03","steps":[{"run":"run t1#0."}]}}}})json");
  }

  TEST_CASE("R5: named tasks run in command-line order") {
    check_case(
        R"json({"plan":{"version":1,"hosts":["h01"],"groups":{},"tasks":{"t1":{"on":"all","steps":[{"run":"run t1#0."}]},"t4":{"on":"all","steps":[{"run":"run t4#0."}]}}},"names":["t4","t1"]})json");
    check_case(
        R"json({"plan":{"version":1,"hosts":["h03"],"groups":{},"tasks":{"t0":{"needs":["t1"],"on":"all","steps":[{"run":"run t0#0."}]},"t1":{"on":"all","steps":[{"run":"run t1#0."}]},"t2":{"on":"all","steps":[{"run":"run t2#0."}]}}},"names":["t0","t2","t1"]})json");
  }

  TEST_CASE("random plans: the scheduler agrees with the reference model") {
    const Features features = features_in_force();
    const bool sanitized = std::getenv("DEPLOYD_SANITIZED") != nullptr;  // ASan: 5x slower
    const int cases = static_cast<int>(
        env_number("DEPLOYD_MODEL_CASES", sanitized ? kDefaultCases / 5 : kDefaultCases));
    const std::uint64_t seed = env_number("DEPLOYD_MODEL_SEED", kDefaultSeed);
    MESSAGE("model test: " << cases << " cases from DEPLOYD_MODEL_SEED=" << seed
                           << "; features: " << describe(features));
    const int printed = static_cast<int>(env_number("DEPLOYD_MODEL_PRINT", kPrintedFailures));
    int failing = 0;
    Coverage coverage;
    for (int i = 0; i < cases; ++i) {
      const std::uint64_t case_seed = seed + static_cast<std::uint64_t>(i);
      Case c = generate(case_seed, features);
      Observation seen = observe(c);
      coverage.add(c, seen);
      std::vector<std::string> discrepancies = check(c, seen, features.checks);
      if (discrepancies.empty()) continue;
      if (++failing > printed) continue;
      const std::string rule = first_rule(discrepancies);
      Case small = shrink(c, [&](const Case& candidate) {
        return first_rule(judge(candidate, features.checks)) == rule;
      });
      FAIL_CHECK(failure_report(
          small, features.checks,
          "seed " + std::to_string(case_seed) + " fails (rerun: DEPLOYD_MODEL_SEED=" +
              std::to_string(case_seed) + " DEPLOYD_MODEL_CASES=1); shrunk from " + to_text(c)));
    }
    MESSAGE("cases: " << coverage.text());
    CHECK_MESSAGE(failing == 0, failing << " of " << cases << " cases disagree with the model");
  }
}

}  // namespace deployd::model
