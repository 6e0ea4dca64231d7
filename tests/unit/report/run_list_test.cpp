// SPDX-License-Identifier: MIT
// Tests of src/report/run_list.cpp: run log folders in, the list of runs out.
#include "report/run_list.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "support/temp_folder.hpp"

namespace deployd::report {

namespace {

void write(const std::filesystem::path& file, const std::string& text) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream(file) << text;
}

std::string summary(const std::string& plan, const std::string& status, int exit_code, int ok, int failed,
                    int unreachable, const std::string& started = "2026-11-28T13:42:35.123Z") {
  return R"({"run_id":"x","started":")" + started + R"(","status":")" + status +
         R"(","exit_code":)" + std::to_string(exit_code) + R"(,"duration_ms":65000,"counts":{"ok":)" +
         std::to_string(ok) + R"(,"failed":)" + std::to_string(failed) + R"(,"unreachable":)" +
         std::to_string(unreachable) + R"(,"skipped":0,"aborted":0},"hosts":[],"rerun":{"plan_path":")" + plan +
         R"("}})";
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("runs: oldest first, finished and unfinished, only the plan's, a corrupt folder warned about") {
    testing::TempFolder dir;
    const std::filesystem::path logs = dir.path() / "runs";
    write(logs / "20261128T134235Z-aaaaaa" / "summary.json", summary("/p/deploy.json", "failed", 1, 5, 1, 2));
    write(logs / "20261128T134235Z-aaaaaa" / "run.json",
          R"({"command_line":["/usr/bin/deployd","deploy.json","-i","my inv.json","--var","pw=***"],)"
          R"("cwd":"/p"})");
    write(logs / "20261129T080000Z-bbbbbb" / "summary.json", summary("/p/other.json", "ok", 0, 3, 0, 0));
    write(logs / "20261130T090000Z-cccccc" / "events.jsonl",
          R"({"event":"run_start","time":"2026-11-30T09:00:00.000Z","run_id":"20261130T090000Z-cccccc",)"
          R"("plan":"deploy.json","hosts":2,"tasks":["t"],"plan_sha256":null})"
          "\n");
    write(logs / "20261130T090000Z-cccccc" / "run.json",
          R"({"command_line":["deployd","deploy.json","-q"],"cwd":"/p"})");
    write(logs / "20261201T000000Z-dddddd" / "events.jsonl", "not json\n");
    // Same second as aaaaaa's id but started earlier: listed first.
    write(logs / "20261128T134235Z-ffffff" / "summary.json", summary("/p/x.json", "ok", 0, 1, 0, 0, "2026-11-28T13:42:35.001Z"));
    write(logs / "not-a-run" / "summary.json", "{}");
    std::vector<std::string> warnings;
    std::vector<RunListEntry> all = list_runs(logs, "", warnings);
    REQUIRE(all.size() == 4);
    CHECK(all[0].run_id == "20261128T134235Z-ffffff");
    all.erase(all.begin());
    CHECK(warnings == std::vector<std::string>{"run 20261201T000000Z-dddddd left out: \"" +
                                               (logs / "20261201T000000Z-dddddd" / "events.jsonl").string() +
                                               "\" does not start with run_start"});
    CHECK(render_run_list(all) ==
          "20261128T134235Z-aaaaaa  2026-11-28 13:42:35  1m05s  failed (exit 1)  5 ok, 1 failed, 2 unreachable  "
          "deployd deploy.json -i 'my inv.json' --var pw=***\n"
          "20261129T080000Z-bbbbbb  2026-11-28 13:42:35  1m05s  ok" + std::string(15, ' ') + "3 ok" + std::string(27, ' ') +
          "deployd /p/other.json\n"
          "20261130T090000Z-cccccc  2026-11-30 09:00:00  -      unfinished" + std::string(7, ' ') + "-" + std::string(30, ' ') +
          "deployd deploy.json -q\n");
    warnings.clear();
    std::vector<RunListEntry> mine = list_runs(logs, "/p/deploy.json", warnings);
    REQUIRE(mine.size() == 2);
    CHECK(mine[0].run_id == "20261128T134235Z-aaaaaa");
    CHECK(mine[1].run_id == "20261130T090000Z-cccccc");  // its plan from run_start and run.json's cwd
    CHECK(list_runs(dir.path() / "missing", "", warnings).empty());
  }
}

}  // namespace deployd::report
