// SPDX-License-Identifier: MIT
// Tests of src/report/html_report.cpp: what the page holds, and that no text from a host can
// become markup or script in it (the browser's side is tests/report/html_report_browser_test.py).
#include "report/html_report.hpp"

#include <doctest/doctest.h>

#include "report/recorded_run.hpp"

namespace deployd::report {

namespace {

RecordedRun hostile_run() {
  RecordedRun run;
  run.run_id = "20261128T134235Z-abcdef";
  run.plan = "/srv/<plan>.json";
  run.status = "failed";
  run.exit_code = 1;
  run.duration_ms = 1000;
  run.tasks = {"deploy</td>"};
  run.context.command_line = {"deployd", "plan.json", "--var", "token=***"};
  HostRecord host;
  host.name = "web1";
  host.status = "failed";
  host.attempts.push_back(Attempt{.task = 0,
                                  .step = 0,
                                  .name = "<b>step</b>",
                                  .start_ms = 0,
                                  .end_ms = 500,
                                  .status = BarStatus::Failed,
                                  .exit_status = 1,
                                  .error = "<img src=x onerror=alert(1)>"});
  host.output.push_back(OutputLine{0, 0, false, "<script>alert(1)</script>"});
  host.output.push_back(
      OutputLine{0, 0, true, "</script><script>alert(2)</script> @DATA@ @TASKS@"});
  run.hosts.push_back(host);
  return run;
}

}  // namespace

TEST_CASE("escape_html: the five characters that can open markup or end an attribute") {
  CHECK(escape_html("<a href=\"x\" title='y'>&</a>") ==
        "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;");
}

TEST_CASE(
    "render_html_report: host text is escaped in the summary and cannot close the data block") {
  const std::string page = render_html_report(hostile_run());
  // Exactly the template's two script elements: the data block and the page's own script.
  std::size_t scripts = 0;
  for (std::size_t at = page.find("<script"); at != std::string::npos;
       at = page.find("<script", at + 1))
    ++scripts;
  CHECK(scripts == 2);
  CHECK(page.find("</script><script>alert") == std::string::npos);
  CHECK(page.find("<img src=x") == std::string::npos);
  CHECK(page.find("deploy&lt;/td&gt;") != std::string::npos);
  CHECK(page.find("/srv/&lt;plan&gt;.json") != std::string::npos);
  CHECK(page.find("\\u003cscript\\u003ealert(1)") != std::string::npos);  // in the JSON data
  CHECK(page.find("&lt;/script&gt;&lt;script&gt;alert(2)") !=
        std::string::npos);  // last stderr lines
  // A marker printed by a host stays text: the failures and data are filled in once each.
  CHECK(page.find("@TASKS@") != std::string::npos);
  CHECK(page.find("<table class=\"grid\" id=\"tasks\">") != std::string::npos);
}

TEST_CASE("render_html_report: nothing is loaded from the network") {
  const std::string page = render_html_report(hostile_run());
  CHECK(page.find("Content-Security-Policy") != std::string::npos);
  CHECK(page.find("default-src 'none'") != std::string::npos);
  CHECK(page.find("script-src 'sha256-") != std::string::npos);
  CHECK(page.find("http://") == std::string::npos);
  CHECK(page.find("https://") == std::string::npos);
  // No element that loads anything, outside the JSON data (where "<" is written \u003c).
  const std::size_t data = page.find("id=\"run-data\">");
  const std::string markup = page.substr(0, data) + page.substr(page.find("</script>", data));
  CHECK(markup.find("src=\"") == std::string::npos);
  CHECK(markup.find("<img") == std::string::npos);
  CHECK(markup.find("<link") == std::string::npos);
}

TEST_CASE("render_html_report: header, task grid and folded failures without script") {
  RecordedRun run = hostile_run();
  HostRecord second = run.hosts[0];
  second.name = "web2";
  run.hosts.push_back(second);
  const std::string page = render_html_report(run);
  CHECK(page.find("<td>deployd plan.json --var token=***</td>") != std::string::npos);
  CHECK(page.find("id=\"result\">failed (exit 1)</span>") != std::string::npos);
  CHECK(page.find("<b>2</b> hosts: <code>web[1-2]</code>") != std::string::npos);
  CHECK(page.find("href=\"#host=web1\"") != std::string::npos);
  CHECK(page.find("<td class=\"n failed\">2</td>") != std::string::npos);
}

}  // namespace deployd::report
