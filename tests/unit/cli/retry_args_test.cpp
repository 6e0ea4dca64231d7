// SPDX-License-Identifier: MIT
// Tests of src/cli/retry_args.cpp: --retry-failed's optional run id, told apart from PLAN.
#include "cli/retry_args.hpp"

#include <doctest/doctest.h>

namespace deployd::cli {

namespace {

using Args = std::vector<std::string>;
constexpr const char* kId = "20261128T134235Z-a1b2c3";

}  // namespace

TEST_SUITE("cli") {
  TEST_CASE("--retry-failed before PLAN leaves PLAN positional: the latest run is retried") {
    RetryArgs r = take_retry_args({"deployd", "--retry-failed", "plan.json", "deploy"});
    CHECK(r.error.empty());
    CHECK(r.retry);
    CHECK(r.run_id.empty());
    CHECK(r.args == Args{"deployd", "--retry-failed", "plan.json", "deploy"});
  }

  TEST_CASE("--retry-failed followed by a run id takes it as its value") {
    RetryArgs r = take_retry_args({"deployd", "--retry-failed", kId, "plan.json"});
    CHECK(r.error.empty());
    CHECK(r.retry);
    CHECK(r.run_id == kId);
    CHECK(r.args == Args{"deployd", "--retry-failed", "plan.json"});
  }

  TEST_CASE("--retry-failed=RUN_ID is taken, and a value that is not a run id is an error") {
    RetryArgs r =
        take_retry_args({"deployd", "plan.json", std::string("--retry-failed=") + kId, "-H", "a"});
    CHECK(r.error.empty());
    CHECK(r.run_id == kId);
    CHECK(r.args == Args{"deployd", "plan.json", "--retry-failed", "-H", "a"});
    CHECK(take_retry_args({"deployd", "--retry-failed=latest", "plan.json"}).error ==
          "--retry-failed: \"latest\" is not a run id (like 20261128T134235Z-a1b2c3)");
  }

  TEST_CASE("--retry-failed last on the line, or absent, takes nothing") {
    RetryArgs last = take_retry_args({"deployd", "plan.json", "--retry-failed"});
    CHECK(last.retry);
    CHECK(last.run_id.empty());
    CHECK(last.args == Args{"deployd", "plan.json", "--retry-failed"});
    RetryArgs none = take_retry_args({"deployd", "plan.json", kId});
    CHECK_FALSE(none.retry);
    CHECK(none.args == Args{"deployd", "plan.json", kId});
  }

  TEST_CASE("after -- nothing is an option") {
    RetryArgs r = take_retry_args({"deployd", "plan.json", "--", "--retry-failed", kId});
    CHECK_FALSE(r.retry);
    CHECK(r.args == Args{"deployd", "plan.json", "--", "--retry-failed", kId});
  }

  TEST_CASE("--retry-failed twice is an error") {
    CHECK(take_retry_args({"deployd", "--retry-failed", "--retry-failed", "plan.json"}).error ==
          "--retry-failed: given more than once");
  }

  TEST_CASE("a mistyped run id after --retry-failed is taken as one, not as PLAN") {
    // The run lookup then says it is not found and suggests the run meant (retry.cpp).
    RetryArgs r = take_retry_args({"deployd", "--retry-failed", "20261128T134235Z-a1b2cX"});
    CHECK(r.error.empty());
    CHECK(r.run_id == "20261128T134235Z-a1b2cX");
    CHECK(r.args == Args{"deployd", "--retry-failed"});
    RetryArgs plan = take_retry_args({"deployd", "--retry-failed", "2026plan.json"});
    CHECK(plan.run_id.empty());
    CHECK(plan.args == Args{"deployd", "--retry-failed", "2026plan.json"});
  }
}

}  // namespace deployd::cli
