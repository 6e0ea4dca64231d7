// SPDX-License-Identifier: MIT
// Tests of src/cli/ad_hoc.cpp: `deployd -H HOSTS -- COMMAND` as a one-task plan.
#include "cli/ad_hoc.hpp"

#include <doctest/doctest.h>

namespace deployd::cli {
namespace {

using Args = std::vector<std::string>;

LoadOptions with_hosts(std::vector<std::string> hosts) {
  LoadOptions options;
  options.hosts = std::move(hosts);
  options.controller_user = "ops";
  options.home = "/home/ops";
  return options;
}

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("the words after the first -- are the command; argv keeps what comes before") {
    Args args{"deployd", "-H", "web1", "--", "df", "-h", "--", "/"};
    std::optional<Args> command = take_command(args);
    REQUIRE(command);
    CHECK(*command == Args{"df", "-h", "--", "/"});
    CHECK(args == Args{"deployd", "-H", "web1"});
    Args plain{"deployd", "plan.json"};
    CHECK_FALSE(take_command(plain));
    CHECK(plain == Args{"deployd", "plan.json"});
  }

  TEST_CASE("the words join with spaces, as ssh joins them; blanks alone are no command") {
    CHECK(join_command({"df", "-h", "/;", "uptime"}) == "df -h /; uptime");
    CHECK(join_command({"df -h /; uptime"}) == "df -h /; uptime");
    CHECK(join_command({}).empty());
    CHECK(join_command({" ", "\t"}).empty());
  }

  TEST_CASE("an ad-hoc command is one task, ad-hoc, with one run step on every -H host") {
    LoadResult loaded = load_ad_hoc({"uptime", false, ""}, with_hosts({"web[1:2]", "db1"}));
    REQUIRE(loaded.errors.empty());
    REQUIRE(loaded.plan);
    REQUIRE(loaded.plan->tasks.size() == 1);
    const Task& task = loaded.plan->tasks[0];
    CHECK(task.name == "ad-hoc");
    CHECK(task.hosts == std::vector<std::string>{"web1", "web2", "db1"});
    REQUIRE(task.steps.size() == 1);
    CHECK(task.steps[0].kind == StepKind::Run);
    CHECK(task.steps[0].command == "uptime");
    CHECK_FALSE(task.steps[0].sudo_user);
    CHECK_FALSE(task.steps[0].timeout);
  }

  TEST_CASE("--sudo and --timeout become the step's sudo and timeout") {
    LoadResult loaded = load_ad_hoc({"systemctl restart app", true, "1m"}, with_hosts({"web1"}));
    REQUIRE(loaded.plan);
    const Step& step = loaded.plan->tasks[0].steps[0];
    CHECK(step.sudo_user == std::optional<std::string>(""));
    CHECK(step.timeout == std::optional<Duration>(Duration{60'000}));
  }

  TEST_CASE("an ad-hoc command with no host says what to give") {
    LoadResult loaded = load_ad_hoc({"uptime", false, ""}, with_hosts({}));
    REQUIRE(loaded.errors.size() == 1);
    CHECK(loaded.errors[0].to_string() ==
          "an ad-hoc command needs hosts: -H HOSTS, or -i INVENTORY (or DEPLOYD_INVENTORY)");
  }

  TEST_CASE("an error in the command is said of the command, not of a generated file") {
    LoadResult loaded = load_ad_hoc({"echo {{vresion}}", false, ""}, with_hosts({"web1"}));
    REQUIRE(loaded.errors.size() == 1);
    CHECK(loaded.errors[0].file.empty());
    CHECK(loaded.errors[0].to_string().starts_with("the command after --: "));
    CHECK(loaded.errors[0].to_string().find("vresion") != std::string::npos);
  }

  TEST_CASE("a command that is not UTF-8 is refused, as a plan holding it would be") {
    LoadResult loaded = load_ad_hoc({"cat \xff", false, ""}, with_hosts({"web1"}));
    REQUIRE(loaded.errors.size() == 1);
    CHECK(loaded.errors[0].to_string() == "the command after -- is not UTF-8");
  }

  TEST_CASE("--sudo and --timeout belong to an ad-hoc command, and --timeout is a duration") {
    CHECK(check_ad_hoc_options(true, true, "30s").empty());
    CHECK(check_ad_hoc_options(false, false, "").empty());
    CHECK(check_ad_hoc_options(false, true, "") ==
          "--sudo applies to an ad-hoc command (deployd -H HOSTS -- COMMAND); a plan's steps set "
          "\"sudo\" and \"timeout\" themselves");
    CHECK(
        check_ad_hoc_options(false, false, "5s") ==
        "--timeout applies to an ad-hoc command (deployd -H HOSTS -- COMMAND); a plan's steps set "
        "\"sudo\" and \"timeout\" themselves");
    CHECK(check_ad_hoc_options(true, false, "soon") ==
          "--timeout: \"soon\" is not a duration (like 30s, 250ms, 5m or 1h)");
  }
}

}  // namespace deployd::cli
