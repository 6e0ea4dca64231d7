// SPDX-License-Identifier: MIT
// Tests of src/report/run_log.cpp: the run log's folder, files, modes and contents.
#include "report/run_log.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support.hpp"
#include "support/temp_folder.hpp"

using deployd::testing::file_text;
namespace deployd::report {

namespace fs = std::filesystem;
using test::at;
using testing::TempFolder;

namespace {

// Sets the umask for a test, as a shell would, and puts the old one back.
class Umask {
 public:
  explicit Umask(mode_t mask) : old_(::umask(mask)) {}
  ~Umask() { ::umask(old_); }

 private:
  mode_t old_;
};

unsigned mode_of(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

void play_run(Reporter& log) {
  log.on(at(0, RunStart{"20261128T134235Z-a1b2c3", "plan.json", 2, {"deploy"}}));
  log.on(at(1, StepStart{"web1", "deploy", 0, "hello"}));
  log.on(at(2, Output{"web1", "deploy", 0, OutputStream::Stdout, "hi \xff"}));
  log.on(at(3, StepEnd{"web1", "deploy", 0, StepStatus::Ok, 0, "", 2, ""}));
  log.on(at(4, HostEnd{"web1", HostStatus::Ok, ""}));
  log.on(
      at(5, HostEnd{"web2", HostStatus::Unreachable, "connect 127.0.99.2:22: connection refused"}));
  log.on(at(3200, RunEnd{RunStatus::Failed, 1, {1, 0, 1, 0, 0}, 3200}));
}

const char* const kSummary = R"({
  "run_id": "20261128T134235Z-a1b2c3",
  "plan": "plan.json",
  "plan_sha256": null,
  "status": "failed",
  "exit_code": 1,
  "reason": null,
  "started": "2026-11-28T13:42:35.123Z",
  "duration_ms": 3200,
  "counts": {
    "ok": 1,
    "failed": 0,
    "unreachable": 1,
    "skipped": 0,
    "aborted": 0
  },
  "hosts": [
    {
      "host": "web1",
      "status": "ok",
      "changed": 0,
      "error": null
    },
    {
      "host": "web2",
      "status": "unreachable",
      "changed": 0,
      "error": "connect 127.0.99.2:22: connection refused"
    }
  ],
  "rerun": {
    "plan_path": null,
    "inventories": [],
    "tasks": [],
    "hosts": null,
    "limit": null,
    "retry_of": null,
    "only": [],
    "ad_hoc": null
  }
}
)";

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("a run log creates its folder 0700, parents included, and events.jsonl 0600") {
    TempFolder temp;
    Umask umask(022);
    const fs::path log_dir = temp.path() / "project" / ".deployd" / "runs";
    RunLog::Opened opened = RunLog::open(log_dir, "run-1");
    REQUIRE_MESSAGE(opened.log != nullptr, opened.error);
    CHECK(opened.error.empty());
    CHECK(opened.log->dir() == log_dir / "run-1");
    CHECK(mode_of(temp.path() / "project") == 0700);
    CHECK(mode_of(log_dir) == 0700);
    CHECK(mode_of(log_dir / "run-1") == 0700);
    CHECK(mode_of(log_dir / "run-1" / "events.jsonl") == 0600);
    CHECK_FALSE(fs::exists(log_dir / "run-1" / "summary.json"));
  }

  TEST_CASE("events.jsonl holds every event as the JSON reporter writes it") {
    TempFolder temp;
    RunLog::Opened opened = RunLog::open(temp.path(), "r");
    REQUIRE(opened.log != nullptr);
    play_run(*opened.log);
    opened.log->finish();
    const std::string events = file_text(temp.path() / "r" / "events.jsonl");
    CHECK(std::count(events.begin(), events.end(), '\n') == 7);
    CHECK(events.find(R"({"event":"output","time":"2026-11-28T13:42:35.125Z","host":"web1",)"
                      R"("task":"deploy","step":0,"stream":"stdout","line":"hi \\xff"})"
                      "\n") != std::string::npos);
    CHECK(
        events.substr(events.rfind("{\"event\"")) ==
        R"({"event":"run_end","time":"2026-11-28T13:42:38.323Z","status":"failed","exit_code":1,)"
        R"("counts":{"ok":1,"failed":0,"unreachable":1,"skipped":0,"aborted":0},"duration_ms":3200,"reason":null})"
        "\n");
    CHECK(opened.log->error().empty());
  }

  TEST_CASE("finish writes summary.json 0600 with status, counts and each host's end") {
    TempFolder temp;
    Umask umask(022);
    RunLog::Opened opened = RunLog::open(temp.path(), "r");
    REQUIRE(opened.log != nullptr);
    play_run(*opened.log);
    opened.log->finish();
    const fs::path summary = temp.path() / "r" / "summary.json";
    CHECK(file_text(summary) == kSummary);
    CHECK(mode_of(summary) == 0600);
    CHECK_FALSE(fs::exists(temp.path() / "r" / "summary.json.tmp"));
  }

  TEST_CASE("a run log that is never finished writes its summary when destroyed") {
    TempFolder temp;
    {
      RunLog::Opened opened = RunLog::open(temp.path(), "r");
      REQUIRE(opened.log != nullptr);
      opened.log->on(at(0, RunStart{"r", "p", 1, {}}));
      opened.log->on(at(0, StepStart{"a", "t", 0, "s"}));
    }
    const std::string summary = file_text(temp.path() / "r" / "summary.json");
    CHECK(summary.find(R"("status": null,)") != std::string::npos);
    CHECK(summary.find(R"("host": "a",
      "status": null,)") != std::string::npos);
  }

  TEST_CASE("run.json is written when run_start comes, with the waves it announced") {
    TempFolder temp;
    RunLog::Opened opened = RunLog::open(temp.path(), "r");
    REQUIRE(opened.log != nullptr);
    RunContext context;
    context.user = "alice";
    context.hosts = {"web1", "web2", "web3"};
    opened.log->write_context_at_start(context);
    CHECK_FALSE(fs::exists(temp.path() / "r" / "run.json"));
    opened.log->on(at(0, RunStart{"r", "p", 3, {"deploy"}, "", {1, 3}}));
    const auto [read_back, error] = read_run_context(temp.path() / "r");
    CHECK(error.empty());
    CHECK(read_back.user == "alice");
    CHECK(read_back.hosts == context.hosts);
    CHECK(read_back.wave_ends == std::vector<std::size_t>{1, 3});
  }

  TEST_CASE("summary.json is whole or absent: a failed write leaves no summary") {
    TempFolder temp;
    RunLog::Opened opened = RunLog::open(temp.path(), "r");
    REQUIRE(opened.log != nullptr);
    fs::create_directory(temp.path() / "r" / "summary.json.tmp");  // the temp file can't be made
    std::vector<std::string> warnings;
    opened.log->on_warning([&](const std::string& warning) { warnings.push_back(warning); });
    play_run(*opened.log);
    opened.log->finish();
    CHECK_FALSE(fs::exists(temp.path() / "r" / "summary.json"));
    CHECK_FALSE(opened.log->is_summary_written());
    const std::string error =
        "write \"" + (temp.path() / "r" / "summary.json").string() + "\": file exists";
    CHECK(opened.log->error() == error);
    // issue 16: said when it happens, once, with what it costs.
    CHECK(warnings == std::vector<std::string>{"run log: " + error + ": --retry-failed cannot use this run"});
  }

  TEST_CASE("a run log folder that another user owns or can write is refused, saying how to fix it") {
    TempFolder temp;
    const fs::path shared = temp.path() / "shared";
    fs::create_directory(shared);
    ::chmod(shared.c_str(), 0777);
    RunLog::Opened opened = RunLog::open(shared, "r");
    CHECK(opened.log == nullptr);
    CHECK(opened.error == "run log folder \"" + shared.string() +
                              "\" is writable by other users (mode 0777): fix it with `chmod go-w \"" +
                              shared.string() + "\"`");
    CHECK_FALSE(fs::exists(shared / "r"));

    ::chmod(shared.c_str(), 0703);  // group and others may enter and write: the folder above it
    opened = RunLog::open(shared / "runs", "r");
    CHECK(opened.error == "run log folder \"" + (shared / "runs").string() + "\" is inside \"" +
                              shared.string() + "\", which other users can write (mode 0703): fix it with "
                              "`chmod go-w \"" + shared.string() + "\"` (or `chmod +t`)");
    ::chmod(shared.c_str(), 01777);  // sticky, like /tmp: others cannot rename what is ours
    CHECK(RunLog::open(shared / "runs", "r").log != nullptr);

    if (::geteuid() == 0) {  // CI runs as root: chown as another user would have made it
      const fs::path foreign = temp.path() / "foreign";
      fs::create_directory(foreign);
      ::chmod(foreign.c_str(), 0700);
      REQUIRE(::chown(foreign.c_str(), 65534, 65534) == 0);
      opened = RunLog::open(foreign, "r");
      CHECK(opened.log == nullptr);
      CHECK(opened.error.starts_with("run log folder \"" + foreign.string() + "\" belongs to uid 65534"));
      CHECK(opened.error.ends_with(", not to you (uid 0): another user could forge or redirect the run "
                                   "log: remove it"));
    }
  }

  TEST_CASE("a run log never reuses a folder and reports why it cannot open") {
    TempFolder temp;
    REQUIRE(RunLog::open(temp.path(), "r").log != nullptr);
    const RunLog::Opened again = RunLog::open(temp.path(), "r");
    CHECK(again.log == nullptr);
    CHECK(again.error ==
          "create run log folder \"" + (temp.path() / "r").string() + "\": file exists");

    std::ofstream(temp.path() / "file") << "x";
    const RunLog::Opened under_file = RunLog::open(temp.path() / "file" / "runs", "r");
    CHECK(under_file.error ==
          "create run log folder \"" + (temp.path() / "file").string() + "\": not a folder");

    CHECK(RunLog::open(temp.path(), "../x").error == "invalid run id \"../x\"");
    CHECK(RunLog::open(temp.path(), "").error == "invalid run id \"\"");
  }

  TEST_CASE("run ids are UTC time then a random suffix, unique and usable as a folder") {
    const std::string id = make_run_id(test::base_time());
    CHECK(id.size() == 23);
    CHECK(id.substr(0, 17) == "20261128T134235Z-");
    CHECK(id.find_first_not_of("0123456789abcdef", 17) == std::string::npos);
    std::set<std::string> ids;
    for (int i = 0; i < 50; ++i) ids.insert(make_run_id(test::base_time()));
    CHECK(ids.size() >= 49);
    CHECK(make_run_id().size() == id.size());
  }
}

}  // namespace deployd::report
