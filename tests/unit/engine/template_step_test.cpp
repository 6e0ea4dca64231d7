// SPDX-License-Identifier: MIT
// Tests of the template step (issue 18) in src/engine/transfer_step.cpp over a FakeTransport:
// rendered per host, sent as a put's bytes, and a rendering that fails fails the host's step.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "async/awaitable.hpp"
#include "deployd/load.hpp"
#include "engine/engine.hpp"
#include "support/fake_transport.hpp"
#include "support/plan_text.hpp"
#include "support/recording_reporter.hpp"
#include "support/run_engine.hpp"
#include "support/temp_folder.hpp"

namespace deployd::engine {
namespace {

using testing::FakeReply;
using testing::FakeTransport;
using testing::RecordingReporter;
using testing::run_engine;

// A plan file and its template in a fresh folder, loaded from disk (templates are read then).
struct TemplatePlanFolder : testing::TempFolder {
  TemplatePlanFolder(const std::string& plan, const std::string& text) {
    write("plan.json", plan);
    std::filesystem::permissions(write("app.conf.j2", text), std::filesystem::perms(0640));
  }
  Plan load() const {
    LoadResult loaded = load_plan((path() / "plan.json").string(), testing::test_options());
    for (const Diagnostic& error : loaded.errors) FAIL_CHECK(error.to_string());
    REQUIRE(loaded.plan.has_value());
    return *loaded.plan;
  }
};

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("a template is rendered per host and sent as a put of its bytes") {
    TemplatePlanFolder folder(
        R"({"hosts": ["a", {"name": "b", "vars": {"port": "81"}}],
      "vars": {"port": "80", "sites": ["x", "y"]}, "tasks": {"t": {"steps": [
      {"run": "cat /etc/version", "register": "version"},
      {"cd": "/etc", "steps": [
        {"template": "app.conf.j2", "to": "app/{{host}}.conf", "sudo": true, "owner": "root"}]}]}}})",
        "v{{version}} {{host}}:{{port}}\n{% for s in sites %}\n{{s}}\n{% endfor %}\n");
    Plan plan = folder.load();
    FakeTransport transport;
    FakeReply version;
    version.chunks = {{OutputStream::Stdout, "1.2\n"}};
    transport.reply("*", "cat /etc/version", version);
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 0);
    // (No structured binding: clang 14 cannot capture one in doctest's assertions.)
    for (const auto& expected : std::vector<std::pair<std::string, std::string>>{
             {"a", "v1.2 a:80\nx\ny\n"}, {"b", "v1.2 b:81\nx\ny\n"}}) {
      const std::string& host = expected.first;
      const std::string& text = expected.second;
      REQUIRE(transport.puts[host].size() == 1);
      const PutRequest& put = transport.puts[host][0];
      CHECK(put.content == text);
      CHECK(put.local_path == (folder.path() / "app.conf.j2").string());
      CHECK(put.remote_path == "/etc/app/" + host + ".conf");
      CHECK(put.mode == 0640u);  // the template file's, without "mode"
      CHECK(put.sudo_user == "");
      CHECK(put.owner == "root");
    }
  }

  TEST_CASE("a template that cannot render on a host fails its step there, naming the place") {
    TemplatePlanFolder folder(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"run": "cat /etc/version", "register": "version"},
      {"template": "app.conf.j2", "to": "/etc/app.conf", "mode": "0600"}]}}})",
                              "ok\n{% for v in version %}{{v}}{% endfor %}\n");
    Plan plan = folder.load();
    FakeTransport transport;
    FakeReply version;
    version.chunks = {{OutputStream::Stdout, "1.2\n"}};
    transport.reply("*", "cat /etc/version", version);
    RecordingReporter reporter;
    CHECK(run_engine(plan, transport, reporter).exit_code == 1);
    CHECK(transport.puts["a"].empty());
    bool found = false;
    for (const Event& event : reporter.events)
      if (auto* end = std::get_if<StepEnd>(&event.body); end && end->step == 1) {
        found = true;
        CHECK(end->error ==
              "t step 2 (template \"app.conf.j2\"): " + (folder.path() / "app.conf.j2").string() +
                  ":2:1: {% for v in version %}: \"1.2\" is a text, not a list or an "
                  "object");
      }
    CHECK(found);
  }
}

}  // namespace deployd::engine
