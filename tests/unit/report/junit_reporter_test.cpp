// SPDX-License-Identifier: MIT
// Tests of src/report/junit_reporter.cpp: events in, the whole XML document out.
#include "report/junit_reporter.hpp"

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "support.hpp"
#include "support/temp_folder.hpp"

namespace deployd::report {

using test::at;

namespace {

StepEnd step_end(std::string host, std::string task, int step, StepStatus status, std::int64_t ms,
                 std::string error = "") {
  StepEnd end;
  end.host = std::move(host);
  end.task = std::move(task);
  end.step = step;
  end.status = status;
  end.duration_ms = ms;
  end.error = std::move(error);
  return end;
}

Output err(std::string host, std::string task, int step, std::string line, bool partial = false) {
  return Output{std::move(host), std::move(task), step, OutputStream::Stderr, std::move(line), partial};
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("junit: one case per host and task, failures with error and stderr, skips, connect cases") {
    JunitReporter junit("unused.xml");
    junit.on(at(0, RunStart{"r1", "deploy.json", 5, {"build", "deploy"}}));
    junit.on(at(1, StepStart{"local", "build", 1, "make"}));
    junit.on(at(2, step_end("local", "build", 1, StepStatus::Ok, 1500)));
    junit.on(at(3, StepStart{"web1", "deploy", 1, "copy"}));
    junit.on(at(4, Output{"web1", "deploy", 1, OutputStream::Stdout, "fine", false}));
    junit.on(at(5, step_end("web1", "deploy", 1, StepStatus::Ok, 250)));
    junit.on(at(6, StepStart{"web2<&>", "deploy", 1, "copy"}));
    junit.on(at(7, err("web2<&>", "deploy", 1, "first")));
    junit.on(at(8, err("web2<&>", "deploy", 1, "bell\a esc\x1b[31m \"q\" <tag> & \xff", true)));
    junit.on(at(8, err("web2<&>", "deploy", 1, " continued")));
    junit.on(at(9, step_end("web2<&>", "deploy", 1, StepStatus::Failed, 120,
                            "step 1 \"copy\": exit status 1")));
    junit.on(at(10, HostEnd{"web2<&>", HostStatus::Failed, "step 1 \"copy\": exit status 1"}));
    junit.on(at(11, step_end("web3", "deploy", 1, StepStatus::Skipped, 0, "a task it needs failed")));
    junit.on(at(11, step_end("db2", "deploy", 1, StepStatus::Skipped, 0, "skipped: the host is unreachable")));
    junit.on(at(11, HostEnd{"db2", HostStatus::Unreachable, "connect: timed out"}));
    junit.on(at(12, HostEnd{"db1", HostStatus::Unreachable, "connect: connection refused"}));
    junit.on(at(13, HostEnd{"web4", HostStatus::Aborted, "not started: interrupted"}));
    junit.on(at(14, StepStart{"web5", "deploy", 1, "copy"}));
    junit.on(at(15, HostEnd{"web5", HostStatus::Aborted, "interrupted (SIGINT)"}));
    RunEnd end;
    end.duration_ms = 2345;
    junit.on(at(16, end));
    CHECK(junit.xml() ==
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<testsuites name=\"deployd\" tests=\"8\" failures=\"2\" errors=\"2\" skipped=\"2\" time=\"2.345\">\n"
          "  <testsuite name=\"build\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"0\" time=\"1.500\" "
          "timestamp=\"2026-11-28T13:42:35.123Z\">\n"
          "    <testcase classname=\"build\" name=\"local\" time=\"1.500\"/>\n"
          "  </testsuite>\n"
          "  <testsuite name=\"deploy\" tests=\"5\" failures=\"2\" errors=\"1\" skipped=\"1\" time=\"0.370\" "
          "timestamp=\"2026-11-28T13:42:35.123Z\">\n"
          "    <testcase classname=\"deploy\" name=\"web1\" time=\"0.250\"/>\n"
          "    <testcase classname=\"deploy\" name=\"web2&lt;&amp;&gt;\" time=\"0.120\">\n"
          "      <failure type=\"failed\" message=\"step 1 &quot;copy&quot;: exit status 1\">"
          "step 1 \"copy\": exit status 1\nlast stderr lines:\nfirst\n"
          "bell\\x07 esc\\x1b[31m \"q\" &lt;tag&gt; &amp; \\xff continued</failure>\n"
          "    </testcase>\n"
          "    <testcase classname=\"deploy\" name=\"web3\" time=\"0.000\">\n"
          "      <skipped message=\"a task it needs failed\"/>\n"
          "    </testcase>\n"
          "    <testcase classname=\"deploy\" name=\"db2\" time=\"0.000\">\n"
          "      <error type=\"unreachable\" message=\"connect: timed out\">connect: timed out</error>\n"
          "    </testcase>\n"
          "    <testcase classname=\"deploy\" name=\"web5\" time=\"0.000\">\n"
          "      <failure type=\"aborted\" message=\"interrupted (SIGINT)\">interrupted (SIGINT)</failure>\n"
          "    </testcase>\n"
          "  </testsuite>\n"
          "  <testsuite name=\"connect\" tests=\"2\" failures=\"0\" errors=\"1\" skipped=\"1\" time=\"0.000\" "
          "timestamp=\"2026-11-28T13:42:35.123Z\">\n"
          "    <testcase classname=\"connect\" name=\"db1\" time=\"0.000\">\n"
          "      <error type=\"unreachable\" message=\"connect: connection refused\">"
          "connect: connection refused</error>\n"
          "    </testcase>\n"
          "    <testcase classname=\"connect\" name=\"web4\" time=\"0.000\">\n"
          "      <skipped message=\"not started: interrupted\"/>\n"
          "    </testcase>\n"
          "  </testsuite>\n"
          "</testsuites>\n");
  }

  TEST_CASE("junit: a retried attempt and an ignored failure do not fail the case; the last 20 stderr lines") {
    JunitReporter junit("unused.xml");
    junit.on(at(0, RunStart{"r1", "p.json", 1, {"t"}}));
    for (int i = 1; i <= 25; ++i) junit.on(at(1, err("h", "t", 1, "line " + std::to_string(i))));
    StepEnd retried = step_end("h", "t", 1, StepStatus::Failed, 100, "attempt 1 failed");
    retried.will_retry = true;
    junit.on(at(2, retried));
    junit.on(at(3, step_end("h", "t", 1, StepStatus::Ok, 100)));
    StepEnd ignored = step_end("h", "t", 2, StepStatus::Failed, 5, "exit status 3");
    ignored.ignored = true;
    junit.on(at(4, ignored));
    junit.on(
        at(5, step_end("h", "t", 3, StepStatus::TimedOut, 1000, "step 3 timed out after 1.0s")));
    const std::string xml = junit.xml();
    CHECK(xml.find("<failure type=\"timed_out\" message=\"step 3 timed out after 1.0s\">"
                   "step 3 timed out after 1.0s\nlast stderr lines:\nline 6\n") !=
          std::string::npos);
    CHECK(xml.find("line 5\n") == std::string::npos);
    CHECK(xml.find("line 25</failure>") != std::string::npos);
    CHECK(xml.find("time=\"1.205\"/>") == std::string::npos);  // not a passing case
    CHECK(xml.find("name=\"h\" time=\"1.205\">") != std::string::npos);
  }

  TEST_CASE("escape_xml: entities, references for whitespace in attributes, no XML-1.0-illegal characters") {
    CHECK(escape_xml("a<b>&\"c'", false) == "a&lt;b&gt;&amp;\"c'");
    CHECK(escape_xml("a<b>&\"c'", true) == "a&lt;b&gt;&amp;&quot;c'");
    CHECK(escape_xml("t\tn\nr\r", true) == "t&#9;n&#10;r&#13;");
    CHECK(escape_xml("t\tn\nr\r", false) == "t\tn\nr&#13;");
    CHECK(escape_xml(std::string("nul\0del\x7f", 8), false) == "nul\\x00del\x7f");
    CHECK(escape_xml("\xef\xbf\xbe\xef\xbf\xbd", false) == "\\xef\\xbf\\xbe\xef\xbf\xbd");  // U+FFFE, U+FFFD
    CHECK(escape_xml("caf\xc3\xa9 \xc3", false) == "caf\xc3\xa9 \\xc3");
  }

  TEST_CASE("junit: finish writes the file once, 0600, and replaces a planted symlink instead of following it") {
    testing::TempFolder dir;
    const std::filesystem::path target = dir.path() / "target";
    { std::ofstream(target) << "keep"; }
    const std::filesystem::path file = dir.path() / "junit.xml";
    std::filesystem::create_symlink(target, file);
    JunitReporter junit(file);
    junit.on(at(0, RunStart{"r1", "p.json", 1, {"t"}}));
    junit.finish();
    std::stringstream kept;
    kept << std::ifstream(target).rdbuf();
    CHECK(kept.str() == "keep");
    CHECK(!std::filesystem::is_symlink(file));
    std::stringstream written;
    written << std::ifstream(file).rdbuf();
    CHECK(written.str() == junit.xml());
    CHECK((std::filesystem::status(file).permissions() & std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  }
}

}  // namespace deployd::report
