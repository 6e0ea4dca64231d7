// SPDX-License-Identifier: MIT
// Task selection, dependency order and the dot output.
#include "graph/task_graph.hpp"

#include <doctest/doctest.h>

#include "support/plan_text.hpp"

namespace deployd::graph {
namespace {

using testing::plan_text;
using Names = std::vector<std::string>;

Names names(const Selection& selection) {
  Names out;
  for (const Task* task : selection.tasks) out.push_back(task->name);
  return out;
}

constexpr const char* kGraphPlan = R"({"hosts": ["a"], "tasks": {
    "restart": {"needs": ["deploy"], "steps": [{"run": "r"}]},
    "pack": {"steps": [{"run": "p"}]},
    "deploy": {"needs": ["pack"], "steps": [{"run": "d"}], "default": true},
    "lint": {"steps": [{"run": "l"}]}}})";

}  // namespace

TEST_SUITE("graph") {
  TEST_CASE("a named task runs with its needs, transitively, needs first") {
    Plan plan = plan_text(kGraphPlan);
    CHECK(names(select_tasks(plan, {"restart"})) == Names{"pack", "deploy", "restart"});
  }

  TEST_CASE("no task named runs the default tasks with their needs") {
    Plan plan = plan_text(kGraphPlan);
    CHECK(names(select_tasks(plan, {})) == Names{"pack", "deploy"});
  }

  TEST_CASE("no task named and none marked default runs every task, in dependency then document order") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {
        "b": {"needs": ["c"], "steps": [{"run": "b"}]}, "a": {"steps": [{"run": "a"}]},
        "c": {"steps": [{"run": "c"}]}}})");
    CHECK(names(select_tasks(plan, {})) == Names{"a", "c", "b"});
  }

  TEST_CASE("handlers are not default tasks: they come after the selected tasks that notify them") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {
        "reload": {"handler": true, "steps": [{"run": "r"}]},
        "unused": {"handler": true, "steps": [{"run": "u"}]},
        "config": {"steps": [{"run": "c", "notify": "reload"}]},
        "other": {"steps": [{"run": "o"}]}}})");
    CHECK(names(select_tasks(plan, {})) == Names{"config", "reload", "other"});
    CHECK(names(select_tasks(plan, {"other"})) == Names{"other"});
    CHECK(names(select_tasks(plan, {"config", "other"})) == Names{"config", "other", "reload"});
    // Named alone, a handler runs without its notifiers (and is then not notified).
    CHECK(names(select_tasks(plan, {"reload"})) == Names{"reload"});
    const std::vector<const Task*> tasks = select_tasks(plan, {}).tasks;
    CHECK(notifier_indices(tasks) == std::vector<std::vector<int>>{{}, {0}, {}});
  }

  TEST_CASE("an unknown task name is an error with a suggestion") {
    Plan plan = plan_text(kGraphPlan);
    Selection selection = select_tasks(plan, {"deplyo"});
    REQUIRE(selection.errors.size() == 1);
    CHECK(selection.errors[0].to_string() == "unknown task \"deplyo\" (did you mean \"deploy\"?)");
  }

  TEST_CASE("need indices point into the selection") {
    Plan plan = plan_text(kGraphPlan);
    CHECK(need_indices(select_tasks(plan, {"restart"}).tasks) == std::vector<std::vector<int>>{{}, {0}, {1}});
  }

  TEST_CASE("named tasks run in command-line order, each after its needs (issue 14, bug 10)") {
    Plan plan = plan_text(kGraphPlan);
    CHECK(names(select_tasks(plan, {"lint", "pack"})) == Names{"lint", "pack"});
    CHECK(names(select_tasks(plan, {"pack", "lint"})) == Names{"pack", "lint"});
    CHECK(names(select_tasks(plan, {"lint", "restart"})) == Names{"lint", "pack", "deploy", "restart"});
    CHECK(names(select_tasks(plan, {"restart", "lint", "pack"})) == Names{"pack", "deploy", "restart", "lint"});
  }

  TEST_CASE("a named task's needs come in document order") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {
        "x": {"steps": [{"run": "x"}]}, "y": {"steps": [{"run": "y"}]},
        "z": {"needs": ["y", "x"], "steps": [{"run": "z"}]}}})");
    CHECK(names(select_tasks(plan, {"z"})) == Names{"x", "y", "z"});
  }

  TEST_CASE("how a task waits for a need") {
    Plan plan = plan_text(R"({"hosts": ["a", "b"], "tasks": {
        "build": {"on": "local", "steps": [{"local": "make"}]},
        "facts": {"on": "b", "run_once": true, "steps": [{"run": "f"}]},
        "static": {"on": "a", "steps": [{"run": "s"}]},
        "deploy": {"needs": ["build", "facts", "static"], "steps": [{"run": "d"}]},
        "restart": {"needs": ["static"], "barrier": true, "steps": [{"run": "r"}]}}})");
    const Task& deploy = *plan.find_task("deploy");
    CHECK(need_wait(deploy, *plan.find_task("build"), false) == NeedWait::AllHosts);
    CHECK(need_wait(deploy, *plan.find_task("facts"), true) == NeedWait::AllHosts);
    CHECK(need_wait(deploy, *plan.find_task("static"), true) == NeedWait::PerHost);
    CHECK(need_wait(deploy, *plan.find_task("static"), false) == NeedWait::AllHosts);
    CHECK(need_wait(*plan.find_task("restart"), *plan.find_task("static"), true) == NeedWait::Barrier);
    CHECK(need_wait(*plan.find_task("restart"), *plan.find_task("static"), false) == NeedWait::AllHosts);
  }

  TEST_CASE("the dot graph marks the waits across hosts") {
    Plan plan = plan_text(R"({"hosts": ["web1", "nginx"], "tasks": {
        "static": {"on": "web1", "steps": [{"run": "s"}]},
        "sync": {"on": "nginx", "needs": ["static"], "steps": [{"run": "y"}]},
        "restart": {"on": "web1", "needs": ["static"], "barrier": true, "steps": [{"run": "r"}]},
        "check": {"on": "web1", "needs": ["static"], "steps": [{"run": "c"}]}}})");
    std::string dot = to_dot(plan, select_tasks(plan, {}).tasks);
    CHECK(dot.find("\"static\" -> \"sync\" [style=bold, label=\"all hosts\"];") != std::string::npos);
    CHECK(dot.find("\"static\" -> \"restart\" [style=bold, label=\"barrier\"];") != std::string::npos);
    CHECK(dot.find("\"static\" -> \"check\";") != std::string::npos);
  }

  TEST_CASE("the dot graph has one node per task, an edge per need, and ranks by depth") {
    Plan plan = plan_text(kGraphPlan);
    CHECK(to_dot(plan, select_tasks(plan, {"restart"}).tasks) ==
          "digraph deployd {\n"
          "  rankdir=LR;\n"
          "  node [shape=box];\n"
          "  \"pack\" [label=\"pack (1 host)\"];\n"
          "  \"deploy\" [label=\"deploy (1 host)\"];\n"
          "  \"restart\" [label=\"restart (1 host)\"];\n"
          "  \"pack\" -> \"deploy\";\n"
          "  \"deploy\" -> \"restart\";\n"
          "  { rank=same; \"pack\"; }\n"
          "  { rank=same; \"deploy\"; }\n"
          "  { rank=same; \"restart\"; }\n"
          "}\n");
  }
}

}  // namespace deployd::graph
