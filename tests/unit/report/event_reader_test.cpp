// SPDX-License-Identifier: MIT
// Tests of src/report/event_reader.cpp: every kind of event survives events.jsonl and back.
#include "report/event_reader.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

#include "report/json_reporter.hpp"
#include "support.hpp"
#include "support/temp_folder.hpp"

namespace deployd::report {

using test::at;

TEST_SUITE("report") {
  TEST_CASE("event_from_json reads back what event_to_json wrote, for every kind of event") {
    StepEnd failed;
    failed.host = "web1";
    failed.task = "deploy";
    failed.step = 2;
    failed.status = StepStatus::TimedOut;
    failed.exit_status = 137;
    failed.exit_signal = "KILL";
    failed.duration_ms = 1234;
    failed.error = "timed out \xff";
    StepEnd put;
    put.host = "web2";
    put.task = "deploy";
    put.duration_ms = 1000;
    put.transfer = TransferStats{4096, false};
    RunEnd end;
    end.status = RunStatus::Interrupted;
    end.exit_code = 130;
    end.counts = StatusCounts{1, 2, 3, 4, 5};
    end.duration_ms = 99;
    end.reason = "interrupted by SIGINT";
    StepEnd ignored;
    ignored.host = "web2";
    ignored.task = "deploy";
    ignored.status = StepStatus::Failed;
    ignored.ignored = true;
    ignored.error = "a literal \\x41 stays text";
    StepEnd cancelled;
    cancelled.host = "web1";
    cancelled.task = "deploy";
    cancelled.status = StepStatus::Aborted;
    const std::vector<Event> events{
        at(0, RunStart{"r1", "deploy.json", 2, {"build", "deploy"}, std::string(64, 'a')}),
        at(0, RunStart{"r1", "deploy.json", 2, {}, ""}),
        at(0, RunStart{"r1", "deploy.json", 4, {"deploy"}, "", {1, 4}}),
        at(1, StepStart{"web1", "deploy", 0, "copy \"x\""}),
        at(2, Output{"web1", "deploy", 0, OutputStream::Stderr, "line \x1b[31m \xfe", true}),
        at(2, Output{"web1", "deploy", 0, OutputStream::Stdout, "", false}),
        at(3, failed),
        at(3, put),
        at(3, ignored),
        at(3, cancelled),
        at(4, Progress{"web2", "deploy", 1, 10, 100, 5}),
        at(5, HostEnd{"web1", HostStatus::Unreachable, "connect: refused"}),
        at(5, HostEnd{"web2", HostStatus::Ok, ""}),
        at(6, end)};
    for (const Event& event : events) {
      const std::string line = event_to_json(event);
      std::optional<Event> back = event_from_json(line);
      REQUIRE(back.has_value());
      CHECK(event_to_json(*back) == line);
    }
    CHECK(!event_from_json("{\"event\":\"run_start\"}"));  // no time
    CHECK(!event_from_json("not json"));
    CHECK(!event_from_json(R"({"event":"nonsense","time":"2026-11-28T13:42:35.123Z"})"));
  }

  TEST_CASE("run_start's wave_ends read back as the waves it announced; absent, as none") {
    const std::optional<Event> back = event_from_json(
        event_to_json(at(0, RunStart{"r1", "deploy.json", 6, {"deploy"}, "", {2, 5, 6}})));
    REQUIRE(back.has_value());
    CHECK(std::get<RunStart>(back->body).wave_ends == std::vector<std::size_t>{2, 5, 6});
    // A run log written before run_start had them.
    const std::optional<Event> old = event_from_json(
        R"({"event":"run_start","time":"2026-11-28T13:42:35.123Z","run_id":"r0","plan":"p",)"
        R"("hosts":3,"tasks":[],"plan_sha256":null})");
    REQUIRE(old.has_value());
    CHECK(std::get<RunStart>(old->body).wave_ends.empty());
  }

  TEST_CASE("run_start's hosts and targets read back as announced; absent, as none") {
    RunStart start{"r1", "deploy.json", 2, {"pack", "deploy"}, "", {1, 2}};
    start.host_names = {"web1", "web\xff"};
    start.targets = {TaskTargets{"pack", 1, {"local"}},
                     TaskTargets{"deploy", 3, {"web1", "web\xff"}}};
    const std::optional<Event> back = event_from_json(event_to_json(at(0, start)));
    REQUIRE(back.has_value());
    const RunStart& read = std::get<RunStart>(back->body);
    CHECK(read.host_names == start.host_names);  // bytes that are not UTF-8 come back too
    REQUIRE(read.targets.size() == 2);
    CHECK(read.targets[0].task == "pack");
    CHECK(read.targets[0].steps == 1);
    CHECK(read.targets[0].hosts == std::vector<std::string>{"local"});
    CHECK(read.targets[1].task == "deploy");
    CHECK(read.targets[1].steps == 3);
    CHECK(read.targets[1].hosts == start.targets[1].hosts);
    const std::optional<Event> old = event_from_json(
        R"({"event":"run_start","time":"2026-11-28T13:42:35.123Z","run_id":"r0","plan":"p",)"
        R"("hosts":3,"tasks":["deploy"],"plan_sha256":null,"wave_ends":[3]})");
    REQUIRE(old.has_value());
    CHECK(std::get<RunStart>(old->body).host_names.empty());
    CHECK(std::get<RunStart>(old->body).targets.empty());
  }

  TEST_CASE("read_events skips a line that is not an event, naming it") {
    testing::TempFolder dir;
    std::ofstream(dir.path() / "events.jsonl")
        << event_to_json(at(0, RunStart{"r1", "p.json", 1, {"t"}})) << "\n{\"cut off\n"
        << event_to_json(at(1, HostEnd{"h", HostStatus::Ok, ""})) << "\n";
    std::vector<std::string> warnings;
    std::string error;
    std::optional<std::vector<Event>> events = read_events(dir.path(), warnings, error);
    REQUIRE(events.has_value());
    CHECK(events->size() == 2);
    CHECK(warnings == std::vector<std::string>{"\"" + (dir.path() / "events.jsonl").string() +
                                               "\":2: not an event; skipped"});
    CHECK(!read_events(dir.path() / "missing", warnings, error));
    CHECK(error == "cannot read \"" + (dir.path() / "missing" / "events.jsonl").string() + "\"");
  }
}

}  // namespace deployd::report
