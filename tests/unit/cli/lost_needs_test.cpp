// SPDX-License-Identifier: MIT
// A need that --limit or --retry-failed leaves with no host is never skipped silently (issue 14,
// bug 1): --limit refuses it, --retry-failed runs it again.
#include "cli/lost_needs.hpp"

#include <doctest/doctest.h>

#include "graph/limit.hpp"
#include "graph/task_graph.hpp"
#include "support/plan_text.hpp"

namespace deployd::cli {
namespace {

using testing::plan_text;
using Names = std::vector<std::string>;

constexpr const char* kLostNeedsPlan = R"({"hosts": ["node001", "node002", "node005", "node006"],
    "groups": {"web": ["node001", "node002"], "monitoring": ["node005"], "static": ["node005", "node006"]},
    "tasks": {
      "facts": {"on": "monitoring", "run_once": true, "steps": [{"run": "echo 127.0.99.5", "register": "mon_ip"}]},
      "assets": {"on": "static", "steps": [{"run": "build"}]},
      "deploy": {"on": "web", "needs": ["facts", "assets"], "steps": [{"run": "deploy"}]}}})";

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("--limit that leaves out every host of a needed task is refused, naming task, hosts and fix") {
    Plan plan = plan_text(kLostNeedsPlan);
    auto before = graph::task_hosts(plan);
    REQUIRE(graph::limit_hosts(plan, {"web"}).empty());
    std::vector<Diagnostic> errors = limit_errors(plan, graph::select_tasks(plan, {"deploy"}).tasks, before);
    REQUIRE(errors.size() == 2);
    CHECK(errors[0].to_string() ==
          "task \"deploy\" needs \"facts\", which runs on node005, but --limit leaves node005 out: add it to --limit");
    CHECK(errors[1].to_string() ==
          "task \"deploy\" needs \"assets\", which runs on node[005-006] (2 hosts), but --limit leaves them out: "
          "add them to --limit");
  }

  TEST_CASE("--limit that keeps a host of every need is accepted") {
    Plan plan = plan_text(kLostNeedsPlan);
    auto before = graph::task_hosts(plan);
    REQUIRE(graph::limit_hosts(plan, {"web", "node005"}).empty());
    CHECK(limit_errors(plan, graph::select_tasks(plan, {"deploy"}).tasks, before).empty());
  }

  TEST_CASE("a task --limit leaves with no host needs nothing") {
    Plan plan = plan_text(kLostNeedsPlan);
    auto before = graph::task_hosts(plan);
    REQUIRE(graph::limit_hosts(plan, {"node006"}).empty());
    CHECK(limit_errors(plan, graph::select_tasks(plan, {"deploy"}).tasks, before).empty());
  }

  TEST_CASE("--retry-failed runs again, on their hosts, the needs the retried hosts lost, and says so") {
    Plan plan = plan_text(kLostNeedsPlan);
    auto before = graph::task_hosts(plan);
    graph::keep_named_hosts(plan, {"node002"});
    std::vector<const Task*> tasks = graph::select_tasks(plan, {"deploy"}).tasks;
    CHECK(run_lost_needs_again(plan, tasks, before) ==
          Names{"runs \"facts\" again on node005: \"deploy\" needs it",
                "runs \"assets\" again on node[005-006] (2 hosts): \"deploy\" needs it"});
    CHECK(plan.find_task("facts")->hosts == Names{"node005"});
    CHECK(plan.find_task("assets")->hosts == Names{"node005", "node006"});
    CHECK(plan.find_task("deploy")->hosts == Names{"node002"});
  }
}

}  // namespace deployd::cli
