// SPDX-License-Identifier: MIT
// Tests of src/plan/conditions.cpp: `when` with the status functions, changed_when and
// failed_when on a command's result, and the fields `register` adds.
#include "plan/conditions.hpp"

#include <doctest/doctest.h>

using namespace deployd;
using namespace deployd::plan;

namespace {

Condition condition(const std::string& text) {
  SyntaxError error;
  auto expr = Expr::parse(text, error);
  REQUIRE_MESSAGE(expr, error.to_string());
  return Condition{text, expr};
}

struct ConditionsFixture {
  Plan plan;
  Host host;
  VarMap registered;
  ConditionsFixture() {
    host.name = "web1";
    plan.vars = {{"mode", "full"}};
  }
  VarContext context() const { return {&plan, &host, &registered, "r"}; }
};

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("when: every condition must hold; the first false one is the reason") {
    ConditionsFixture f;
    CHECK(check_when({condition("mode == 'full'")}, f.context(), false).runs);
    WhenVerdict verdict =
        check_when({condition("true"), condition("mode == 'quick'")}, f.context(), false);
    CHECK_FALSE(verdict.runs);
    CHECK(verdict.reason == "when \"mode == 'quick'\" is false");
    CHECK(verdict.error.empty());
  }

  TEST_CASE("when: after a failure only failure() and always() steps run") {
    ConditionsFixture f;
    WhenVerdict plain = check_when({}, f.context(), true);
    CHECK_FALSE(plain.runs);
    CHECK(plain.reason == "an earlier step failed");
    CHECK_FALSE(check_when({condition("mode == 'full'")}, f.context(), true).runs);
    CHECK(check_when({condition("failure()")}, f.context(), true).runs);
    CHECK(check_when({condition("always()")}, f.context(), true).runs);
    CHECK(check_when({condition("always()")}, f.context(), false).runs);
    CHECK_FALSE(check_when({condition("failure()")}, f.context(), false).runs);
    // a cd block's failure() with the step's own condition: both hold
    CHECK_FALSE(
        check_when({condition("failure()"), condition("mode == 'quick'")}, f.context(), true).runs);
  }

  TEST_CASE("when: a condition that cannot be evaluated is an error naming it") {
    ConditionsFixture f;
    WhenVerdict verdict = check_when({condition("out.rc == 0")}, f.context(), false);
    CHECK_FALSE(verdict.runs);
    CHECK(verdict.error == "when \"out.rc == 0\": variable \"out.rc\" has no value on this host");
  }

  TEST_CASE("changed_when and failed_when see the step's own rc, stdout and stderr") {
    ConditionsFixture f;
    Step step;
    step.changed_when = condition("'installed' in stdout");
    step.failed_when = condition("rc > 1 or stderr != ''");
    ResultVerdict verdict = check_result(step, f.context(), {1, "already there", ""});
    CHECK(verdict.changed == false);
    CHECK(verdict.failed == false);
    verdict = check_result(step, f.context(), {0, "installed nginx", "warning"});
    CHECK(verdict.changed == true);
    CHECK(verdict.failed == true);
    Step plain;
    verdict = check_result(plain, f.context(), {3, "", ""});
    CHECK_FALSE(verdict.changed);
    CHECK_FALSE(verdict.failed);
  }

  TEST_CASE("register adds rc, stdout, stderr, changed, skipped and failed") {
    ConditionsFixture f;
    register_fields(f.registered, "out", {2, "a", "b"}, false, true);
    CHECK(f.registered == VarMap{{"out.rc", "2"},
                                 {"out.stdout", "a"},
                                 {"out.stderr", "b"},
                                 {"out.changed", "false"},
                                 {"out.skipped", "false"},
                                 {"out.failed", "true"}});
    register_skipped(f.registered, "out");
    CHECK(f.registered.at("out") == "");
    CHECK(f.registered.at("out.rc") == "");
    CHECK(f.registered.at("out.skipped") == "true");
    CHECK(check_when({condition("out.skipped and not out.failed")}, f.context(), false).runs);
  }
}
