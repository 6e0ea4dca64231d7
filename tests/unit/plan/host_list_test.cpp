// SPDX-License-Identifier: MIT
// Tests of src/plan/host_list.cpp: `-H @FILE`, one host a line as pssh -h reads it.
#include <doctest/doctest.h>

#include "support/plan_text.hpp"
#include "support/temp_folder.hpp"

using namespace deployd;
using deployd::testing::TempFolder;
using Names = std::vector<std::string>;

namespace {

constexpr const char* kHostListPlan =
    R"({"hosts": ["web1"], "tasks": {"t": {"steps": [{"run": "x"}]}}})";

LoadResult load_with_hosts(const std::vector<std::string>& hosts) {
  LoadOptions options = deployd::testing::test_options();
  options.hosts = hosts;
  return parse_plan(kHostListPlan, "plan.json", options);
}

std::string errors_of(const LoadResult& result, const std::string& folder) {
  std::string lines;
  for (const Diagnostic& error : result.errors) {
    std::string text = error.to_string();
    for (std::size_t at; (at = text.find(folder)) != std::string::npos;)
      text.replace(at, folder.size(), "DIR");
    lines += (lines.empty() ? "" : "\n") + text;
  }
  return lines;
}

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("-H @FILE reads one host a line; blank lines and comments are skipped") {
    TempFolder dir;
    std::string list = dir.write("hosts.txt",
                                 "# the fleet\n\n  web1\ndeploy@db1:2200  # primary\n"
                                 "web[02:03]\r\n");
    LoadResult result = load_with_hosts({"@" + list, "extra"});
    INFO(errors_of(result, ""));
    REQUIRE(result.plan);
    CHECK(result.plan->tasks[0].hosts == Names{"web1", "db1", "web02", "web03", "extra"});
    CHECK(result.plan->hosts[1].user == "deploy");
    CHECK(result.plan->hosts[1].port == 2200);
  }

  TEST_CASE("errors in a host list name its line and column") {
    TempFolder dir;
    std::string list = dir.write("hosts.txt", "web1\n  web2 web3\nweb[5:1]\nall\n");
    std::string folder = list.substr(0, list.rfind('/'));
    CHECK(errors_of(load_with_hosts({"@" + list}), folder) ==
          "DIR/hosts.txt:2:8: one host a line, got \"web3\" after \"web2\"\n"
          "DIR/hosts.txt:3:1: bad host \"web[5:1]\": bad range \"[5:1]\": the start is after the "
          "end\n"
          "DIR/hosts.txt:4:1: bad host \"all\": \"all\" cannot name a host");
  }

  TEST_CASE("a host list that cannot be read, or names no host, is an error") {
    TempFolder dir;
    std::string empty = dir.write("empty.txt", "# nothing yet\n\n");
    std::string folder = empty.substr(0, empty.rfind('/'));
    CHECK(
        errors_of(load_with_hosts({"@" + folder + "/missing.txt", "@" + empty}), folder) ==
        "DIR/empty.txt: host list (-H @DIR/empty.txt) names no hosts\n"
        "DIR/missing.txt: cannot read host list (-H @DIR/missing.txt): no such file or directory");
  }
}
