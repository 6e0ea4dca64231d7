// SPDX-License-Identifier: MIT
// Tests of src/report/text_fold.cpp: many hosts' texts folded into one.
#include "report/text_fold.hpp"

#include <doctest/doctest.h>

namespace deployd::report {

TEST_SUITE("report") {
  TEST_CASE("fold: texts that differ in the host's name, durations and addresses fold together") {
    const std::string a =
        R"(restart step 1 (run "/srv/node007/svc restart"): exited with status 1 after 0.9s)";
    const std::string b =
        R"(restart step 1 (run "/srv/node023/svc restart"): exited with status 1 after 1.2s)";
    CHECK(TextFold::shape_of(a, "node007") == TextFold::shape_of(b, "node023"));
    TextFold fold;
    fold.add(a, "node007");
    fold.add(b, "node023");
    CHECK(fold.text() ==
          R"(restart step 1 (run "/srv/<host>/svc restart"): exited with status 1 after …)");

    TextFold connect;
    connect.add("connect 127.0.120.17:2522: timed out after 10s (3 attempts)", "node017");
    connect.add("connect 127.0.120.18:2522: timed out after 10s (3 attempts)", "node018");
    CHECK(connect.text() == "connect …: timed out after 10s (3 attempts)");
  }

  TEST_CASE("fold: a stopwatch's two-part durations fold as one piece") {
    CHECK(TextFold::shape_of("timed out after 2m05s", "a") ==
          TextFold::shape_of("timed out after 0.3s", "b"));
    CHECK(TextFold::shape_of("running 1h02m now", "a") ==
          TextFold::shape_of("running 59m59s now", "b"));
    TextFold fold;
    fold.add("cancelled after 1m00s: interrupted", "a");
    fold.add("cancelled after 2m05s: interrupted", "b");
    CHECK(fold.text() == "cancelled after …: interrupted");
  }

  TEST_CASE("fold: one host's text is shown whole, and other differences do not fold") {
    TextFold one;
    one.add("deploy step 2 (run \"echo node001\"): exited with status 1 after 0.1s", "node001");
    CHECK(one.text() == "deploy step 2 (run \"echo node001\"): exited with status 1 after 0.1s");
    CHECK(TextFold::shape_of("exited with status 1", "a") !=
          TextFold::shape_of("exited with status 2", "b"));
    CHECK(TextFold::shape_of("version 1.4.2", "a") != TextFold::shape_of("version 1.4.1", "b"));
    // A name inside a longer word is not the host: web1 in web10.
    CHECK(TextFold::shape_of("from web10", "web1") == "from web10");
    CHECK(TextFold::shape_of("took 5 seconds", "h") == "took 5 seconds");
  }
}

}  // namespace deployd::report
