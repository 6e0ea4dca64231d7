// SPDX-License-Identifier: MIT
// --limit: globs over host and group names narrow every task's hosts.
#include "graph/limit.hpp"

#include <doctest/doctest.h>

#include "support/plan_text.hpp"

namespace deployd::graph {
namespace {

using testing::plan_text;
using Names = std::vector<std::string>;

constexpr const char* kLimitPlan = R"({"hosts": ["web[1:3]", "db1", "db2"],
    "groups": {"web": ["web[1:3]"], "db": ["db1", "db2"]},
    "tasks": {"t": {"steps": [{"run": "x"}]}, "w": {"on": "web", "steps": [{"run": "y"}]}}})";

}  // namespace

TEST_SUITE("graph") {
  TEST_CASE("--limit keeps hosts whose name matches a glob") {
    Plan plan = plan_text(kLimitPlan);
    CHECK(limit_hosts(plan, {"web[12]", "db2"}).empty());
    CHECK(plan.tasks[0].hosts == Names{"web1", "web2", "db2"});
    CHECK(plan.tasks[1].hosts == Names{"web1", "web2"});
  }

  TEST_CASE("--limit by group name keeps the group's members") {
    Plan plan = plan_text(kLimitPlan);
    CHECK(limit_hosts(plan, {"d*"}).empty());
    CHECK(plan.tasks[0].hosts == Names{"db1", "db2"});
    CHECK(plan.tasks[1].hosts.empty());
  }

  TEST_CASE("--limit with a pattern that matches nothing is an error with a suggestion") {
    Plan plan = plan_text(kLimitPlan);
    std::vector<Diagnostic> errors = limit_hosts(plan, {"wbe1"});
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].to_string() == "--limit \"wbe1\" matches no host or group (did you mean \"web1\"?)");
  }

  TEST_CASE("no --limit keeps every host") {
    Plan plan = plan_text(kLimitPlan);
    CHECK(limit_hosts(plan, {}).empty());
    CHECK(plan.tasks[0].hosts.size() == 5);
  }

  TEST_CASE(
      "exact host names keep those hosts only, never a group or a glob, and report names the plan "
      "lacks") {
    Plan plan = plan_text(kLimitPlan);
    CHECK(keep_named_hosts(plan, {"web2", "db", "web[13]", "db1"}) == Names{"db", "web[13]"});
    CHECK(plan.tasks[0].hosts == Names{"web2", "db1"});
    CHECK(plan.tasks[1].hosts == Names{"web2"});
  }

  TEST_CASE("--exclude leaves out hosts by name or by group; the rest stay in plan order") {
    Plan plan = plan_text(kLimitPlan);
    CHECK(exclude_hosts(plan, {"web2", "db"}).empty());
    CHECK(plan.tasks[0].hosts == Names{"web1", "web3"});
    CHECK(plan.tasks[1].hosts == Names{"web1", "web3"});
  }

  TEST_CASE("--exclude with a pattern that matches nothing is an error with a suggestion") {
    Plan plan = plan_text(kLimitPlan);
    std::vector<Diagnostic> errors = exclude_hosts(plan, {"wbe1"});
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].to_string() ==
          "--exclude \"wbe1\" matches no host or group (did you mean \"web1\"?)");
  }

  TEST_CASE("--only drops the needs of the named tasks on tasks not named, and says which") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {
        "upload": {"steps": [{"run": "u"}]},
        "restart": {"needs": ["upload"], "steps": [{"run": "r"}]},
        "check": {"needs": ["upload", "restart"], "steps": [{"run": "c"}]}}})");
    CHECK(drop_needs(plan, {"check", "restart"}) ==
          Names{"restart without upload", "check without upload"});
    CHECK(plan.tasks[0].needs.empty());
    CHECK(plan.tasks[1].needs.empty());
    CHECK(plan.tasks[2].needs == Names{"restart"});  // kept: both are named
    CHECK(drop_needs(plan, {}).empty());
  }
}

}  // namespace deployd::graph
