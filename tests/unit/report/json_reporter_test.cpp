// SPDX-License-Identifier: MIT
// Tests of src/report/json_reporter.cpp: events in, exact JSON lines out.
#include "report/json_reporter.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <string>

#include "support.hpp"

namespace deployd::report {

using test::at;
using test::MemoryFile;

TEST_SUITE("report") {
  TEST_CASE(
      "run_start carries run id, plan, hosts, tasks, the plan's sha256, the waves and the "
      "targets") {
    const Event event = at(0, RunStart{"20261128T134235Z-a1b2c3",
                                       "deploy.json",
                                       3,
                                       {"pack", "deploy"},
                                       std::string(64, 'a'),
                                       {1, 3},
                                       {"web1", "web2", "db1"},
                                       {TaskTargets{"pack", 1, {"local"}},
                                        TaskTargets{"deploy", 2, {"web1", "web2"}}}});
    CHECK(
        event_to_json(event) ==
        R"({"event":"run_start","time":"2026-11-28T13:42:35.123Z","run_id":"20261128T134235Z-a1b2c3",)"
        R"("plan":"deploy.json","hosts":3,"tasks":["pack","deploy"],"plan_sha256":")" +
            std::string(64, 'a') +
            R"(","wave_ends":[1,3],"host_names":["web1","web2","db1"],"targets":[)"
            R"({"task":"pack","steps":1,"hosts":["local"]},)"
            R"({"task":"deploy","steps":2,"hosts":["web1","web2"]}]})");
    CHECK(
        event_to_json(at(0, RunStart{"r", "p", 0, {}})) ==
        R"({"event":"run_start","time":"2026-11-28T13:42:35.123Z","run_id":"r","plan":"p","hosts":0,"tasks":[],)"
        R"("plan_sha256":null,"wave_ends":[],"host_names":[],"targets":[]})");
  }

  TEST_CASE("progress carries the bytes moved, the file's size and the rate") {
    CHECK(event_to_json(at(0, Progress{"db1", "deploy", 2, 1048576, 4194304, 524288})) ==
          R"({"event":"progress","time":"2026-11-28T13:42:35.123Z","host":"db1","task":"deploy",)"
          R"("step":2,"bytes":1048576,"total":4194304,"bytes_per_second":524288})");
  }

  TEST_CASE("step_start carries host, task, step and name") {
    CHECK(event_to_json(at(1001, StepStart{"node001", "deploy", 2, "unpack"})) ==
          R"({"event":"step_start","time":"2026-11-28T13:42:36.124Z","host":"node001",)"
          R"("task":"deploy","step":2,"name":"unpack"})");
  }

  TEST_CASE("output carries the stream and the line, escaped only where not UTF-8") {
    CHECK(event_to_json(at(5, Output{"node001", "deploy", 2, OutputStream::Stdout, "hello"})) ==
          R"({"event":"output","time":"2026-11-28T13:42:35.128Z","host":"node001","task":"deploy",)"
          R"("step":2,"stream":"stdout","line":"hello"})");
    CHECK(event_to_json(at(5, Output{"local", "pack", 0, OutputStream::Stderr,
                                     "caf\xc3\xa9 \xff \"q\" \x1b[0m\t"})) ==
          R"({"event":"output","time":"2026-11-28T13:42:35.128Z","host":"local","task":"pack",)"
          "\"step\":0,\"stream\":\"stderr\",\"line\":\"caf\xc3\xa9 \\\\xff \\\"q\\\" "
          "\\u001b[0m\\t\"}");
  }

  TEST_CASE("output lines, written without nlohmann for speed, escape every byte as dump() does") {
    // The `name` of step_start goes through nlohmann: the same bytes must give the same text.
    std::string every_byte;
    for (int b = 0; b < 256; ++b) every_byte += static_cast<char>(b);
    const std::vector<std::string> samples{every_byte, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
                                           "\xc3", "\xed\xa0\x80", "\\x41 \"q\" /", ""};
    for (const std::string& sample : samples) {
      const std::string output = event_to_json(at(0, Output{"h", "t", 0, OutputStream::Stdout, sample}));
      const std::string start = event_to_json(at(0, StepStart{"h", "t", 0, sample}));
      const std::string line = output.substr(output.find("\"line\":") + 7);
      const std::string name = start.substr(start.find("\"name\":") + 7);
      CHECK(line == name);
    }
  }

  TEST_CASE("a piece of a long line says it is partial; whole lines say nothing") {
    Output piece{"a", "t", 0, OutputStream::Stdout, "xx", true};
    CHECK(event_to_json(at(5, piece)) ==
          R"({"event":"output","time":"2026-11-28T13:42:35.128Z","host":"a","task":"t",)"
          R"("step":0,"stream":"stdout","line":"xx","partial":true})");
  }

  TEST_CASE("step_end has null exit status and error when there are none") {
    CHECK(
        event_to_json(at(0, StepEnd{"node001", "deploy", 1, StepStatus::Ok, 0, "", 120, ""})) ==
        R"({"event":"step_end","time":"2026-11-28T13:42:35.123Z","host":"node001","task":"deploy",)"
        R"("step":1,"status":"ok","exit_status":0,"duration_ms":120,"error":null})");
    CHECK(
        event_to_json(
            at(0, StepEnd{"node001", "deploy", 1, StepStatus::TimedOut, std::nullopt, "", 30000,
                          "deploy step 1 (run \"sleep 60\"): timed out after 30.0s"})) ==
        R"({"event":"step_end","time":"2026-11-28T13:42:35.123Z","host":"node001","task":"deploy",)"
        R"("step":1,"status":"timed_out","exit_status":null,"duration_ms":30000,)"
        R"("error":"deploy step 1 (run \"sleep 60\"): timed out after 30.0s"})");
  }

  TEST_CASE("step_end has exit_signal only when the command was killed by a signal") {
    CHECK(event_to_json(at(0, StepEnd{"n", "t", 0, StepStatus::Failed, std::nullopt, "KILL", 7,
                                      "t step 0 (run \"x\"): killed by signal KILL"})) ==
          R"({"event":"step_end","time":"2026-11-28T13:42:35.123Z","host":"n","task":"t","step":0,)"
          R"("status":"failed","exit_status":null,"exit_signal":"KILL","duration_ms":7,)"
          R"("error":"t step 0 (run \"x\"): killed by signal KILL"})");
    CHECK(
        event_to_json(at(0, StepEnd{"n", "t", 3, StepStatus::Skipped, std::nullopt, "", 0, ""})) ==
        R"({"event":"step_end","time":"2026-11-28T13:42:35.123Z","host":"n","task":"t","step":3,)"
        R"("status":"skipped","exit_status":null,"duration_ms":0,"error":null})");
  }

  TEST_CASE("step_end of a failure ignore_errors let pass says ignored; other ends say nothing") {
    StepEnd end{"n", "t", 1, StepStatus::Failed, 1, "", 7, "t step 2 (run \"false\"): exited with status 1 after 7ms"};
    end.ignored = true;
    CHECK(event_to_json(at(0, end)) ==
          R"({"event":"step_end","time":"2026-11-28T13:42:35.123Z","host":"n","task":"t","step":1,)"
          R"("status":"failed","exit_status":1,"duration_ms":7,)"
          R"("error":"t step 2 (run \"false\"): exited with status 1 after 7ms","ignored":true})");
    end.ignored = false;
    CHECK(event_to_json(at(0, end)).find("ignored") == std::string::npos);
  }

  TEST_CASE("host_end has a null error when ok and the reason otherwise") {
    CHECK(
        event_to_json(at(0, HostEnd{"node001", HostStatus::Ok, ""})) ==
        R"({"event":"host_end","time":"2026-11-28T13:42:35.123Z","host":"node001","status":"ok","error":null})");
    CHECK(event_to_json(at(0, HostEnd{"node007", HostStatus::Unreachable,
                                      "connect 127.0.10.7:2222: connection refused"})) ==
          R"({"event":"host_end","time":"2026-11-28T13:42:35.123Z","host":"node007",)"
          R"("status":"unreachable","error":"connect 127.0.10.7:2222: connection refused"})");
    CHECK(
        event_to_json(at(0, HostEnd{"a", HostStatus::Skipped, ""})).find(R"("status":"skipped")") !=
        std::string::npos);
    CHECK(
        event_to_json(at(0, HostEnd{"a", HostStatus::Aborted, ""})).find(R"("status":"aborted")") !=
        std::string::npos);
  }

  TEST_CASE("run_end carries status, exit code, every count and duration") {
    CHECK(
        event_to_json(at(3200, RunEnd{RunStatus::Failed, 1, {18, 1, 1, 0, 0}, 3200})) ==
        R"({"event":"run_end","time":"2026-11-28T13:42:38.323Z","status":"failed","exit_code":1,)"
        R"("counts":{"ok":18,"failed":1,"unreachable":1,"skipped":0,"aborted":0},"duration_ms":3200,"reason":null})");
    CHECK(event_to_json(at(0, RunEnd{RunStatus::Interrupted, 130, {}, 5}))
              .find(R"("status":"interrupted","exit_code":130)") != std::string::npos);
    // issue 14: a run cut short says why; a step the run cancelled is `aborted`, as its host.
    RunEnd aborted{RunStatus::Aborted, 3, {1, 2, 0, 0, 4}, 7};
    aborted.reason = "max_failures 1 exceeded: node007, node023 failed";
    CHECK(event_to_json(at(0, aborted)).find(R"("duration_ms":7,"reason":"max_failures 1 exceeded: node007, node023 failed"})") !=
          std::string::npos);
    CHECK(event_to_json(at(0, StepEnd{"a", "t", 0, StepStatus::Aborted, std::nullopt, "", 5, "cancelled"}))
              .find(R"("status":"aborted")") != std::string::npos);
  }

  TEST_CASE("the reporter writes one line per event") {
    MemoryFile out;
    JsonReporter reporter(out.get());
    reporter.on(at(0, StepStart{"a", "t", 0, "s"}));
    reporter.on(at(1, Output{"a", "t", 0, OutputStream::Stdout, "x"}));
    reporter.finish();
    CHECK(
        out.text() ==
        R"({"event":"step_start","time":"2026-11-28T13:42:35.123Z","host":"a","task":"t","step":0,"name":"s"})"
        "\n"
        R"({"event":"output","time":"2026-11-28T13:42:35.124Z","host":"a","task":"t","step":0,"stream":"stdout","line":"x"})"
        "\n");
    CHECK(reporter.error().empty());
  }

  TEST_CASE("flushing each event makes every line visible at once") {
    MemoryFile out;
    JsonReporter reporter(out.get(), JsonFlush::EachEvent);
    reporter.on(at(0, Output{"a", "t", 0, OutputStream::Stdout, "x"}));
    CHECK(out.flushed_size() > 0);
  }

  TEST_CASE("flushing at boundaries holds output lines until the step ends") {
    MemoryFile out;
    JsonReporter reporter(out.get(), JsonFlush::AtBoundaries);
    reporter.on(at(0, StepStart{"a", "t", 0, "s"}));
    reporter.on(at(0, Output{"a", "t", 0, OutputStream::Stdout, "x"}));
    CHECK(out.flushed_size() == 0);
    reporter.on(at(0, StepEnd{"a", "t", 0, StepStatus::Ok, 0, "", 1, ""}));
    const std::size_t after_step = out.flushed_size();
    CHECK(after_step > 0);
    CHECK(out.text().size() == after_step);
  }

  TEST_CASE("the automatic flush is per event on a pipe and at boundaries on a file") {
    SUBCASE("pipe") {
      std::array<int, 2> fds{};
      REQUIRE(::pipe(fds.data()) == 0);
      std::FILE* write_end = ::fdopen(fds[1], "w");
      JsonReporter reporter(write_end);
      reporter.on(at(0, Output{"a", "t", 0, OutputStream::Stdout, "x"}));
      ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
      std::array<char, 512> buffer{};
      CHECK(::read(fds[0], buffer.data(), buffer.size()) > 0);
      std::fclose(write_end);
      ::close(fds[0]);
    }
    SUBCASE("file") {
      std::FILE* file = std::tmpfile();
      REQUIRE(file != nullptr);
      JsonReporter reporter(file);
      reporter.on(at(0, Output{"a", "t", 0, OutputStream::Stdout, "x"}));
      CHECK(::lseek(::fileno(file), 0, SEEK_END) == 0);
      reporter.on(at(0, HostEnd{"a", HostStatus::Ok, ""}));
      CHECK(::lseek(::fileno(file), 0, SEEK_END) > 0);
      std::fclose(file);
    }
  }
}

}  // namespace deployd::report
