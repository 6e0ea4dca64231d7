// SPDX-License-Identifier: MIT
// Tests of src/plan/flow_check.cpp: `for_each` expanded per host, nested loops, and their
// load-time errors (plan-format.md, "Loops").
#include <doctest/doctest.h>

#include "plan/vars.hpp"
#include "support/plan_text.hpp"

using namespace deployd;
using deployd::testing::errors;
using deployd::testing::plan_text;

namespace {

// Each copy of a task's steps as `host` runs it: `label` (or `-` for none), then `skipped:
// REASON` or the command with its loop variables resolved.
std::vector<std::string> copies(const Plan& plan, const std::string& task_name,
                                const std::string& host_name) {
  const Task& task = plan.find_task(task_name)->on_host(host_name);
  std::vector<std::string> lines;
  for (const Step& step : task.steps) {
    std::string line = step.item_label.empty() ? "-" : step.item_label;
    if (!step.loop_skip.empty()) {
      lines.push_back(line + " skipped: " + step.loop_skip);
      continue;
    }
    plan::VarContext vars{&plan, plan.find_host(host_name), nullptr, "r", "", &step.loop_vars};
    lines.push_back(line + " " + plan::interpolate(step.command, vars).text);
  }
  return lines;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("a list in host or group vars gives each host its own items") {
    Plan plan = plan_text(R"({
      "hosts": [{"name": "a", "vars": {"sites": ["shop", "blog", "api"]}},
                {"name": "b", "vars": {"sites": ["wiki"]}}, "c", "d"],
      "groups": {"web": {"hosts": ["c", "d"], "vars": {"sites": []}}},
      "tasks": {"t": {"steps": [{"run": "echo {{site}}", "for_each": "sites", "loop_var": "site"},
                                {"run": "echo done"}]}}})");
    // As many copies as the longest list; a shorter list's host skips the rest.
    REQUIRE(plan.tasks[0].steps.size() == 4);
    CHECK(plan.tasks[0].has_host_items());
    CHECK(copies(plan, "t", "a") ==
          Lines{"site=shop echo shop", "site=blog echo blog", "site=api echo api", "- echo done"});
    CHECK(copies(plan, "t", "b") ==
          Lines{"site=wiki echo wiki", "- skipped: for_each has 1 item on this host",
                "- skipped: for_each has 1 item on this host", "- echo done"});
    CHECK(copies(plan, "t", "c") == Lines{"- skipped: empty for_each", "- skipped: empty for_each",
                                          "- skipped: empty for_each", "- echo done"});
  }

  TEST_CASE("a list the same on every host is one copy per item, shared by the hosts") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "vars": {"sites": ["shop", "blog"]},
      "tasks": {"t": {"steps": [{"run": "echo {{item}}", "for_each": "sites"},
                                {"run": "echo {{item}}", "for_each": []}]}}})");
    REQUIRE(plan.tasks[0].steps.size() == 3);
    CHECK_FALSE(plan.tasks[0].has_host_items());
    CHECK(plan.tasks[0].steps[1].item_label == "item=blog");
    CHECK(copies(plan, "t", "b") ==
          Lines{"item=shop echo shop", "item=blog echo blog", "- skipped: empty for_each"});
  }

  TEST_CASE("for_each takes a dotted name or one expression giving a list") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "groups": {"web": ["a", "b"]},
      "vars": {"app": {"sites": ["x"]}},
      "tasks": {"t": {"steps": [{"run": "ping {{item}}", "for_each": "groups.web"},
                                {"run": "echo {{s}}", "for_each": "{{ app.sites }}", "loop_var": "s"},
                                {"run": "echo {{g}}", "for_each": " {{ host.groups }} ",
                                 "loop_var": "g"}]}}})");
    CHECK(copies(plan, "t", "b") ==
          Lines{"item=a ping a", "item=b ping b", "s=x echo x", "g=web echo web"});
  }

  TEST_CASE("nested loops see both names; an inner list may come from the outer item") {
    Plan plan = plan_text(R"({
      "hosts": [{"name": "a", "vars": {"sites": [{"name": "shop", "pages": ["p1", "p2"]},
                                                 {"name": "blog", "pages": ["p3"]}]}}],
      "tasks": {"t": {"steps": [{"cd": "/srv", "for_each": "sites", "loop_var": "site", "steps": [
        {"run": "echo {{site.name}}/{{item}}", "for_each": "site.pages"},
        {"run": "echo {{site.name}}/{{item}}", "for_each": ["x", "{{site.name}}-y"]}]}]}}})");
    CHECK(copies(plan, "t", "a") == Lines{
                                        "site=shop, item=p1 echo shop/p1",
                                        "site=shop, item=p2 echo shop/p2",
                                        "site=shop, item=x echo shop/x",
                                        "site=shop, item={{site.name}}-y echo shop/shop-y",
                                        "site=blog, item=p3 echo blog/p3",
                                        "site=blog, item=x echo blog/x",
                                        "site=blog, item={{site.name}}-y echo blog/blog-y",
                                    });
  }

  TEST_CASE("a block's loop around one step with a loop of its own: the block's is outside") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"cd": "/", "for_each": ["x", "y"], "loop_var": "o", "steps": [
        {"run": "echo {{o}}{{i}}", "for_each": ["1", "2"], "loop_var": "i"}]}]}}})");
    CHECK(copies(plan, "t", "a") ==
          Lines{"o=x, i=1 echo x1", "o=x, i=2 echo x2", "o=y, i=1 echo y1", "o=y, i=2 echo y2"});
  }

  TEST_CASE("a --var list's items are data: braces in them stay as they are") {
    LoadOptions options = deployd::testing::test_options();
    options.cli_vars = {{"sites", R"(["{{x}}", "b"])"}};
    Plan plan = plan_text(R"({"hosts": ["a"],
      "tasks": {"t": {"steps": [{"run": "echo {{item}}", "for_each": "sites"}]}}})",
                          options);
    CHECK(copies(plan, "t", "a") == Lines{"item={{x}} echo {{x}}", "item=b echo b"});
  }

  TEST_CASE("a host whose variable is not a list is named, with where the value is") {
    CHECK(errors(R"({
      "hosts": ["a", {"name": "b", "vars": {"sites": "shop"}}, {"name": "c", "vars": {"sites": 3}}],
      "vars": {"sites": ["x"]},
      "tasks": {"t": {"steps": [{"run": "echo {{item}}", "for_each": "sites"}]}}})") ==
          "plan.json:4:70: /tasks/t/steps/0/for_each: for_each: variable \"sites\" for host \"b\" "
          "and 1 more hosts is not a list (it holds \"shop\", defined at plan.json:2:45)");
    CHECK(errors(R"({"hosts": ["a"], "vars": {"sites": "shop"},
      "tasks": {"t": {"steps": [{"run": "x", "for_each": "sites"}]}}})") ==
          "plan.json:2:58: /tasks/t/steps/0/for_each: for_each: variable \"sites\" is not a list "
          "(it holds \"shop\", defined at plan.json:1:27)");
  }

  TEST_CASE("for_each errors: unknown, registered, an expression that gives no list") {
    CHECK(
        errors(R"({"hosts": ["a", "b"], "vars": {"sitez": []},
      "tasks": {"t": {"steps": [{"run": "x", "register": "out"},
                                {"run": "x", "for_each": "sites"},
                                {"run": "x", "for_each": "out"},
                                {"run": "x", "for_each": "{{ host }}"},
                                {"run": "x", "for_each": "a {{ host }}"}]}}})") ==
        "plan.json:3:58: /tasks/t/steps/1/for_each: for_each: unknown variable \"sites\" (a list "
        "in vars: the plan's, a group's or a host's, or a --var) (did you mean \"sitez\"?)\n"
        "plan.json:4:58: /tasks/t/steps/2/for_each: for_each: variable \"out\" is registered at "
        "run time: a for_each list must be known when the plan is loaded\n"
        "plan.json:5:58: /tasks/t/steps/3/for_each: for_each: \"{{ host }}\" for host \"a\" and 1 "
        "more hosts gives \"a\", not a list\n"
        "plan.json:6:58: /tasks/t/steps/4/for_each: expected a list, the name of a variable that "
        "holds one, or \"{{ EXPR }}\" giving one, got \"a {{ host }}\"");
  }

  TEST_CASE("nested loops with the same loop variable are an error at the inner one") {
    CHECK(
        errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"cd": "/", "for_each": ["x"], "steps": [{"run": "echo {{item}}", "for_each": ["y"]}]},
      {"cd": "/", "for_each": ["x"], "loop_var": "s", "steps": [
        {"run": "x", "for_each": ["y"], "loop_var": "s"}]}]}}})") ==
        "plan.json:2:85: /tasks/t/steps/0/steps/0/for_each: loop variable \"item\" is already the "
        "one of an enclosing \"for_each\" (give this one another \"loop_var\")\n"
        "plan.json:4:53: /tasks/t/steps/1/steps/0/loop_var: loop variable \"s\" is already the "
        "one of an enclosing \"for_each\" (give this one another \"loop_var\")");
  }

  TEST_CASE("a template inside a loop item is checked at load, where the item is written") {
    CHECK(errors(R"({"hosts": ["a"], "vars": {"app": "shop"},
      "tasks": {"t": {"steps": [{"run": "echo {{item.dir}}",
        "for_each": ["{{app}}-a", {"dir": "/srv/{{aap}}"}, "{{ app | nope }}"]}]}}})") ==
          "plan.json:3:43: /tasks/t/steps/0/for_each/1/dir: undefined variable \"aap\" for host "
          "\"a\" (did you mean \"app\"?)\n"
          "plan.json:3:60: /tasks/t/steps/0/for_each/2: in \"{{ app | nope }}\" at column 10: "
          "unknown "
          "filter \"nope\" (filters: q, raw, join, default, basename, dirname, upper, lower, "
          "replace, trim, length, first, last)");
  }

  TEST_CASE("templates and notify of a loop's steps point at its first copy") {
    Plan plan = plan_text(R"({"hosts": [{"name": "a", "vars": {"l": [1, 2]}}, "b"],
      "tasks": {"t": {"steps": [{"run": "echo {{item}}", "for_each": "{{ l | default([]) }}",
                                 "notify": "h"},
                                {"run": "echo {{ app | default('x') }}"}]},
                "h": {"handler": true, "steps": [{"run": "reload"}]}}})");
    REQUIRE(plan.tasks[0].steps.size() == 3);
    CHECK(plan.tasks[0].steps[1].notify == std::vector<std::string>{"h"});
    CHECK(copies(plan, "t", "b")[0] == "- skipped: empty for_each");
  }
}
