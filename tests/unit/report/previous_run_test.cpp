// SPDX-License-Identifier: MIT
// Tests of src/report/previous_run.cpp: summary.json read back into what --retry-failed reruns.
#include "report/previous_run.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "report/run_log.hpp"
#include "support.hpp"
#include "support/temp_folder.hpp"

namespace deployd::report {

namespace fs = std::filesystem;
using test::at;
using testing::TempFolder;

namespace {

RunRecord record_of(const std::string& plan) {
  RunRecord record;
  record.plan = FileDigest{plan, std::string(64, 'c')};
  record.inventories = {FileDigest{"/srv/inv.json", std::string(64, 'd')}};
  record.tasks = {"deploy"};
  record.hosts = std::vector<std::string>{"web1", "deploy@web2:2222"};
  record.limit = std::vector<std::string>{"web*"};
  record.retry_of = "20261127T101010Z-000001";
  return record;
}

// A finished run of `plan` in `log_dir` where web2 failed, the rest succeeded.
// It started `start_ms` after the tests' base time.
void write_run(const fs::path& log_dir, const std::string& id, RunRecord record, int start_ms = 0) {
  RunLog::Opened opened = RunLog::open(log_dir, id, std::move(record));
  REQUIRE_MESSAGE(opened.log != nullptr, opened.error);
  opened.log->on(at(start_ms, RunStart{id, "plan.json", 2, {"deploy"}, std::string(64, 'c')}));
  opened.log->on(at(start_ms + 1, HostEnd{"web1", HostStatus::Ok, ""}));
  opened.log->on(
      at(start_ms + 2, HostEnd{"web2", HostStatus::Failed, "deploy step 1: exited with status 1"}));
  opened.log->on(at(start_ms + 3, RunEnd{RunStatus::Failed, 1, {1, 1, 0, 0, 0}, 3}));
  opened.log->finish();
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("run ids are recognised by their shape") {
    CHECK(is_run_id(make_run_id()));
    CHECK(is_run_id("20261128T134235Z-a1b2c3"));
    CHECK_FALSE(is_run_id("20261128T134235Z-a1b2c"));
    CHECK_FALSE(is_run_id("20261128T134235Z-A1B2C3"));
    CHECK_FALSE(is_run_id("20261128T134235Z_a1b2c3"));
    CHECK_FALSE(is_run_id("plan.json"));
    CHECK_FALSE(is_run_id(""));
  }

  TEST_CASE("a summary reads back as its record and the hosts to run again") {
    TempFolder temp;
    RunLog::Opened opened = RunLog::open(temp.path(), "r", record_of("/srv/plan.json"));
    REQUIRE(opened.log != nullptr);
    opened.log->on(at(0, RunStart{"r", "plan.json", 6, {"deploy"}, std::string(64, 'c')}));
    opened.log->on(
        at(1, HostEnd{"local", HostStatus::Failed, "pack step 1: exited with status 2"}));
    opened.log->on(at(1, HostEnd{"web1", HostStatus::Ok, ""}));
    opened.log->on(
        at(2, HostEnd{"web2", HostStatus::Failed, "deploy step 1: exited with status 1"}));
    opened.log->on(at(3, HostEnd{"web3", HostStatus::Unreachable, "connection refused"}));
    opened.log->on(at(4, HostEnd{"web4", HostStatus::Aborted, "not started: the run was aborted"}));
    opened.log->on(at(5, HostEnd{"web5", HostStatus::Skipped, ""}));
    opened.log->on(
        at(6, StepStart{"web6", "deploy", 0, "x"}));  // never ended: the run was cut short
    opened.log->finish();

    PreviousRunLookup found = read_summary(temp.path() / "r" / "summary.json");
    REQUIRE_MESSAGE(found.run, found.error);
    const PreviousRun& run = *found.run;
    CHECK(run.run_id == "r");
    CHECK(run.plan_sha256 == std::string(64, 'c'));
    // Issue 14: a skipped host ran nothing (a need failed): it is run again too.
    CHECK(run.retry_hosts == std::vector<std::string>{"web2", "web3", "web4", "web5", "web6"});
    CHECK(run.local_failed);
    const RunRecord expected = record_of("/srv/plan.json");
    CHECK(run.record.plan.path == "/srv/plan.json");
    CHECK(run.record.inventories.size() == 1);
    CHECK(run.record.inventories[0].path == "/srv/inv.json");
    CHECK(run.record.inventories[0].sha256 == std::string(64, 'd'));
    CHECK(run.record.tasks == expected.tasks);
    CHECK(run.record.hosts == expected.hosts);
    CHECK(run.record.limit == expected.limit);
    CHECK(run.record.retry_of == expected.retry_of);
  }

  TEST_CASE("without -H and --limit the record says so, and no task named means the default set") {
    TempFolder temp;
    RunRecord record;
    record.plan.path = "/srv/plan.json";
    write_run(temp.path(), "r", record);
    PreviousRunLookup found = read_summary(temp.path() / "r" / "summary.json");
    REQUIRE_MESSAGE(found.run, found.error);
    CHECK(found.run->record.tasks.empty());
    CHECK_FALSE(found.run->record.hosts);
    CHECK_FALSE(found.run->record.limit);
    CHECK(found.run->retry_hosts == std::vector<std::string>{"web2"});
  }

  TEST_CASE(
      "the latest finished run of the plan is found; other plans and unfinished runs are passed "
      "over") {
    TempFolder temp;
    const fs::path& dir = temp.path();
    write_run(dir, "20261128T100000Z-000001", record_of("/a/plan.json"));
    write_run(dir, "20261128T110000Z-000002", record_of("/a/plan.json"));
    write_run(dir, "20261128T120000Z-000003", record_of("/b/plan.json"));
    write_file(dir / "20261128T130000Z-000004" / "events.jsonl", "");  // still running
    write_file(dir / "20261128T140000Z-000005" / "summary.json",
               R"({"run_id": "x", "hosts": []})");  // older
    write_file(dir / "notes" / "summary.json", "not a run");

    PreviousRunLookup a = find_previous_run(dir, "/a/plan.json", "");
    REQUIRE_MESSAGE(a.run, a.error);
    CHECK(a.run->run_id == "20261128T110000Z-000002");
    CHECK(a.run->summary == dir / "20261128T110000Z-000002" / "summary.json");
    PreviousRunLookup b = find_previous_run(dir, "/b/plan.json", "");
    REQUIRE_MESSAGE(b.run, b.error);
    CHECK(b.run->run_id == "20261128T120000Z-000003");
    CHECK(find_previous_run(dir, "/c/plan.json", "").error ==
          "no finished run of \"/c/plan.json\" in \"" + dir.string() + "\"");
    CHECK(find_previous_run(dir / "none", "/a/plan.json", "").error ==
          "no finished run of \"/a/plan.json\" in \"" + (dir / "none").string() + "\"");
  }

  TEST_CASE("--only reads back, so a retry runs the tasks as they ran: without their needs") {
    TempFolder temp;
    RunRecord record;
    record.plan.path = "/srv/plan.json";
    record.only = {"check", "smoke"};
    write_run(temp.path(), "r", record);
    PreviousRunLookup found = read_summary(temp.path() / "r" / "summary.json");
    REQUIRE_MESSAGE(found.run, found.error);
    CHECK(found.run->record.only == std::vector<std::string>{"check", "smoke"});
    CHECK(found.run->record.tasks.empty());
  }

  TEST_CASE("an ad-hoc run's command reads back; a summary from before ad-hoc runs has none") {
    TempFolder temp;
    RunRecord record;
    record.ad_hoc = AdHocRecord{"systemctl restart \"app\" \xff", true, "1m"};
    write_run(temp.path(), "r", record);
    PreviousRunLookup found = read_summary(temp.path() / "r" / "summary.json");
    REQUIRE_MESSAGE(found.run, found.error);
    REQUIRE(found.run->record.ad_hoc);
    CHECK(found.run->record.ad_hoc->command == "systemctl restart \"app\" \xff");
    CHECK(found.run->record.ad_hoc->sudo);
    CHECK(found.run->record.ad_hoc->timeout == "1m");
    CHECK(found.run->record.plan.path.empty());
    // Found by its run id with no plan: find_previous_run's plan_path "" is an ad-hoc run's.
    PreviousRunLookup by_id = find_previous_run(temp.path(), "", "r");
    REQUIRE_MESSAGE(by_id.run, by_id.error);
    CHECK(by_id.run->record.ad_hoc);

    nlohmann::json old = nlohmann::json::parse(std::ifstream(temp.path() / "r" / "summary.json"));
    old["rerun"].erase("ad_hoc");
    old["rerun"].erase("only");
    old["rerun"]["plan_path"] = "/srv/plan.json";
    write_file(temp.path() / "old" / "summary.json", old.dump());
    ::chmod((temp.path() / "old" / "summary.json").c_str(), 0600);
    PreviousRunLookup before = read_summary(temp.path() / "old" / "summary.json");
    REQUIRE_MESSAGE(before.run, before.error);
    CHECK_FALSE(before.run->record.ad_hoc);
    CHECK(before.run->record.only.empty());
  }

  TEST_CASE("among runs of the same second, the one started last is the latest") {
    // Run ids sort to the second only: their random suffixes say nothing of the order.
    TempFolder temp;
    const fs::path& dir = temp.path();
    write_run(dir, "20261128T100000Z-ffffff", record_of("/a/plan.json"), 100);
    write_run(dir, "20261128T100000Z-000001", record_of("/a/plan.json"), 600);
    write_run(dir, "20261128T100000Z-00000a", record_of("/b/plan.json"), 900);
    write_run(dir, "20261128T095959Z-000002", record_of("/a/plan.json"),
              5000);  // an earlier second
    PreviousRunLookup found = find_previous_run(dir, "/a/plan.json", "");
    REQUIRE_MESSAGE(found.run, found.error);
    CHECK(found.run->run_id == "20261128T100000Z-000001");
  }

  TEST_CASE("a run id given is read, or the error says why it cannot be") {
    TempFolder temp;
    const fs::path& dir = temp.path();
    write_run(dir, "20261128T100000Z-000001", record_of("/a/plan.json"));
    write_run(dir, "20261128T110000Z-000002", record_of("/a/plan.json"));
    write_file(dir / "20261128T130000Z-000004" / "events.jsonl", "");

    PreviousRunLookup first = find_previous_run(dir, "/a/plan.json", "20261128T100000Z-000001");
    REQUIRE_MESSAGE(first.run, first.error);
    CHECK(first.run->run_id == "20261128T100000Z-000001");
    CHECK(find_previous_run(dir, "/a/plan.json", "20261128T100000Z-00000f").error ==
          "run 20261128T100000Z-00000f not found in \"" + dir.string() + "\"");
    CHECK(find_previous_run(dir, "/a/plan.json", "20261128T130000Z-000004").error ==
          "run events \"" + (dir / "20261128T130000Z-000004" / "events.jsonl").string() +
              "\" have no run_start");
  }

  TEST_CASE("a summary another user could have written is not used (issue 16)") {
    TempFolder temp;
    const fs::path& dir = temp.path();
    write_run(dir, "20261128T100000Z-000001", record_of("/a/plan.json"));
    const fs::path summary = dir / "20261128T100000Z-000001" / "summary.json";
    const std::string name = "\"" + summary.string() + "\"";
    ::chmod(summary.c_str(), 0666);
    CHECK(find_previous_run(dir, "/a/plan.json", "").error ==
          "run summary " + name + " is not used: " + name +
              " is writable by other users (mode 0666): it may be forged; remove it");
    ::chmod(summary.c_str(), 0600);
    ::chmod(summary.parent_path().c_str(), 0777);
    CHECK(find_previous_run(dir, "/a/plan.json", "").error ==
          "run summary " + name + " is not used: run log folder \"" + summary.parent_path().string() +
              "\" is writable by other users (mode 0777): fix it with `chmod go-w \"" +
              summary.parent_path().string() + "\"`");
    ::chmod(summary.parent_path().c_str(), 0700);
    fs::remove(summary);
    fs::create_symlink(dir / "elsewhere.json", summary);  // never followed
    std::ofstream(dir / "elsewhere.json") << "{}";
    CHECK(find_previous_run(dir, "/a/plan.json", "20261128T100000Z-000001").error ==
          "cannot read run summary " + name);
  }

  TEST_CASE("names with backslashes and bytes that are not UTF-8 read back exactly (issue 16)") {
    TempFolder temp;
    const std::string plan = "/a/p\\x41\xff.json";  // the text `\x41`, then the byte 0xff
    write_run(temp.path(), "20261128T100000Z-000001", record_of(plan));
    PreviousRunLookup found = find_previous_run(temp.path(), plan, "");
    REQUIRE_MESSAGE(found.run, found.error);
    CHECK(found.run->record.plan.path == plan);
  }

  TEST_CASE("a corrupt or foreign summary is an error naming the file") {
    TempFolder temp;
    const fs::path& dir = temp.path();
    const fs::path summary = dir / "20261128T100000Z-000001" / "summary.json";
    const std::string name = "\"" + summary.string() + "\"";
    SUBCASE("not JSON") {
      write_file(summary, "{\"run_id\": ");
      CHECK(read_summary(summary).error ==
            "run summary " + name + " is corrupt: not a JSON object");
    }
    SUBCASE("a member of the wrong type") {
      write_file(
          summary,
          R"({"run_id": "r", "plan_sha256": null, "started": "x", "hosts": {}, "rerun": {}})");
      CHECK(read_summary(summary).error ==
            "run summary " + name + " is corrupt: \"plan_path\" is missing");
      write_file(
          summary,
          R"({"run_id": "r", "plan_sha256": null, "started": "x", "hosts": 3, "rerun": {"plan_path": "/a",)"
          R"( "inventories": [], "tasks": [], "hosts": null, "limit": null, "retry_of": null}})");
      CHECK(read_summary(summary).error ==
            "run summary " + name + " is corrupt: \"hosts\" is not a list");
    }
    SUBCASE("written by an older deployd") {
      write_file(summary, R"({"run_id": "r", "hosts": []})");
      CHECK(read_summary(summary).error ==
            "run summary " + name +
                " does not record how to rerun the run (written by an older deployd)");
    }
    SUBCASE("a corrupt latest summary (maybe another plan's) is skipped with a warning") {
      write_run(dir, "20261128T090000Z-000000", record_of("/a/plan.json"));
      write_file(summary, "garbage");
      PreviousRunLookup found = find_previous_run(dir, "/a/plan.json", "");
      REQUIRE_MESSAGE(found.run, found.error);
      CHECK(found.run->run_id == "20261128T090000Z-000000");
      CHECK(found.warnings ==
            std::vector<std::string>{"run summary " + name + " is corrupt: not a JSON object: skipped"});
    }
    SUBCASE("a corrupt summary whose events name another plan is skipped, this plan's stops the search") {
      write_run(dir, "20261128T090000Z-000000", record_of("/a/plan.json"));
      write_file(summary, "garbage");
      const fs::path plan = dir / "plan.json";
      write_file(plan, "{}");
      write_file(summary.parent_path() / "events.jsonl",
                 "{\"event\":\"run_start\",\"run_id\":\"x\",\"plan\":" + nlohmann::json(plan.string()).dump() +
                     ",\"hosts\":1,\"tasks\":[]}\n");
      PreviousRunLookup other = find_previous_run(dir, "/a/plan.json", "");
      REQUIRE_MESSAGE(other.run, other.error);
      CHECK(other.run->run_id == "20261128T090000Z-000000");
      CHECK(other.warnings == std::vector<std::string>{"run summary " + name +
                                                       " is corrupt: not a JSON object: another plan's run: skipped"});
      CHECK(find_previous_run(dir, fs::weakly_canonical(plan).string(), "").error ==
            "run summary " + name + " is corrupt: not a JSON object");
    }
    CHECK(read_summary(dir / "missing.json").error ==
          "cannot read run summary \"" + (dir / "missing.json").string() + "\"");
  }

  TEST_CASE("a later run of the plan that never finished is found, and read from its events") {
    // SIGKILL, a crash or a power cut leaves events.jsonl without summary.json (issue 16 #8).
    TempFolder temp;
    const fs::path& dir = temp.path();
    const fs::path plan = dir / "plan.json";
    write_file(plan, "{}");
    write_run(dir, "20261128T100000Z-000001", record_of(plan.string()));
    const std::string id = "20261128T110000Z-000002";
    write_file(dir / id / "events.jsonl",
               "{\"event\":\"run_start\",\"time\":\"2026-11-28T11:00:00.000Z\",\"run_id\":\"" + id +
                   "\",\"plan\":" + nlohmann::json(plan.string()).dump() +
                   ",\"hosts\":3,\"tasks\":[\"deploy\"],\"plan_sha256\":null}\n"
                   "{\"event\":\"step_start\",\"host\":\"web1\",\"task\":\"deploy\",\"step\":0}\n"
                   "{\"event\":\"step_start\",\"host\":\"web2\",\"task\":\"deploy\",\"step\":0}\n"
                   "{\"event\":\"step_start\",\"host\":\"web3\",\"task\":\"deploy\",\"step\":0}\n"
                   "{\"event\":\"host_end\",\"host\":\"web1\",\"status\":\"ok\",\"error\":null}\n"
                   "{\"event\":\"host_end\",\"host\":\"web3\",\"status\":\"failed\",\"error\":\"x\"}\n"
                   "{\"event\":\"output\",\"host\":\"web2\",\"li");  // cut off mid-line
    PreviousRunLookup found = find_previous_run(dir, fs::weakly_canonical(plan).string(), "");
    REQUIRE_MESSAGE(found.run, found.error);
    CHECK(found.run->run_id == id);
    CHECK(found.run->is_unfinished);
    CHECK(found.run->record.tasks == std::vector<std::string>{"deploy"});
    CHECK(found.run->retry_hosts == std::vector<std::string>{"web2", "web3"});
    // Another plan's unfinished run is not this plan's latest.
    PreviousRunLookup other = find_previous_run(dir, "/elsewhere/plan.json", "");
    CHECK_FALSE(other.run);
  }
}

}  // namespace deployd::report
