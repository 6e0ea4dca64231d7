// SPDX-License-Identifier: MIT
// Tests of src/plan/template_check.cpp: template files read, parsed and checked at load (issue 18).
#include <doctest/doctest.h>

#include "plan/template_text.hpp"
#include "support/plan_text.hpp"
#include "support/temp_folder.hpp"

using namespace deployd;
using deployd::testing::file_errors;
using deployd::testing::TempFolder;
using deployd::testing::test_options;

namespace {

constexpr const char* kTemplatePlan = R"({"hosts": ["a", {"name": "b", "vars": {"port": "81"}}],
  "vars": {"port": "80"},
  "tasks": {"t": {"steps": [
    {"run": "hostname", "register": "name"},
    {"template": "app.conf.j2", "to": "/etc/app.conf", "mode": "0640", "owner": "root",
     "sudo": true}]}}})";

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("a template step loads its file, parsed once, with the folder joined") {
    TempFolder dir;
    dir.write("app.conf.j2", "listen {{ port }}; # {{ name }}\n");
    const std::string path = dir.write("plan.json", kTemplatePlan);
    LoadResult loaded = load_plan(path, test_options());
    for (const Diagnostic& error : loaded.errors) FAIL_CHECK(error.to_string());
    REQUIRE(loaded.plan);
    const Step& step = loaded.plan->tasks[0].steps[1];
    CHECK(step.kind == StepKind::Template);
    CHECK(step.command == "app.conf.j2");
    CHECK(step.to == "/etc/app.conf");
    CHECK(step.mode == "0640");
    CHECK(step.owner == "root");
    CHECK(step.template_file == path.substr(0, path.rfind('/')) + "/app.conf.j2");
    REQUIRE(step.text_template);
    CHECK(step.text_template->names().size() == 2);
  }

  TEST_CASE("an imported file's template is read from that file's folder") {
    TempFolder dir;
    dir.write("lib/site.conf.j2", "{{ app }}\n");
    dir.write("lib/web.json",
              R"({"version": 1, "vars": {"app": "shop"}, "tasks": {"site": {"steps": [
      {"template": "site.conf.j2", "to": "/etc/site.conf"}]}}})");
    const std::string path =
        dir.write("plan.json", R"({"hosts": ["a"], "imports": {"web": "lib/web.json"},
                        "tasks": {"t": {"steps": [{"run": "true"}]}}})");
    LoadResult loaded = load_plan(path, test_options());
    for (const Diagnostic& error : loaded.errors) FAIL_CHECK(error.to_string());
    REQUIRE(loaded.plan);
    const Step& step = loaded.plan->tasks[0].steps[0];
    CHECK(step.template_file == path.substr(0, path.rfind('/')) + "/lib/site.conf.j2");
    CHECK(step.text_template);
  }

  TEST_CASE("a missing template file is a plan error at the step") {
    TempFolder dir;
    CHECK(file_errors(dir, kTemplatePlan) ==
          "plan.json:5:18: /tasks/t/steps/1/template: template \"app.conf.j2\" does not exist");
    dir.write("app.conf.j2/x", "");
    CHECK(file_errors(dir, kTemplatePlan) ==
          "plan.json:5:18: /tasks/t/steps/1/template: template "
          "\"app.conf.j2\" is a folder, not a file");
  }

  TEST_CASE("a template that does not parse is an error at its own line:column, naming the step") {
    TempFolder dir;
    dir.write("app.conf.j2", "a\n{% if port %}\nb {% endfi %}\n");
    CHECK(file_errors(dir, kTemplatePlan) ==
          "app.conf.j2:3:3: unknown tag \"endfi\" (did you mean \"endif\"?) (tags: if, elif, else, "
          "endif, for, endfor) (in the template of plan.json:5:18: /tasks/t/steps/1/template)");
  }

  TEST_CASE("a name the template reads must be defined on every host, or registered earlier") {
    TempFolder dir;
    dir.write("app.conf.j2",
              "{{ name }}\n{% for s in sites %}{{ s }}{% endfor %}\n"
              "{{ prot }} {{ x | default('1') }}{% if defined(y) %}{{y}}{% endif %}");
    CHECK(file_errors(dir, kTemplatePlan) ==
          "app.conf.j2:2:13: undefined variable \"sites\" for host \"a\" and 1 more hosts (in the "
          "template of plan.json:5:18: /tasks/t/steps/1/template)\n"
          "app.conf.j2:3:4: undefined variable \"prot\" for host \"a\" and 1 more hosts (did you "
          "mean \"port\"?) (in the template of plan.json:5:18: /tasks/t/steps/1/template)");
  }

  TEST_CASE("a template's path has no variables, and is not read in a hermetic load") {
    TempFolder dir;
    CHECK(file_errors(dir, R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"template": "{{host}}.j2", "to": "/x"}]}}})") ==
          "plan.json:2:20: /tasks/t/steps/0/template: a template's path is read when the plan "
          "loads: write one file, without variables, got \"{{host}}.j2\"");
    LoadOptions options = test_options();
    options.read_templates = false;
    CHECK(file_errors(dir, R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"template": "x.j2", "to": "/x"}]}}})",
                      options) ==
          "plan.json:2:20: /tasks/t/steps/0/template: template files are not read in this load");
  }

  TEST_CASE("a template step takes to, mode, owner and group, and needs to") {
    TempFolder dir;
    dir.write("x.j2", "");
    CHECK(file_errors(dir, R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"template": "x.j2"},
      {"template": "x.j2", "to": "/x", "max_size": 3, "recursive": true}]}}})") ==
          "plan.json:2:7: /tasks/t/steps/0: \"template\" needs \"to\": where the file goes\n"
          "plan.json:3:40: /tasks/t/steps/1: \"max_size\" is only used with \"get\"\n"
          "plan.json:3:55: /tasks/t/steps/1: \"recursive\" is only used with \"put\" and \"get\"");
  }
}
