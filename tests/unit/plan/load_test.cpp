// SPDX-License-Identifier: MIT
// Tests of src/plan/load.cpp, document.cpp and diagnostic.cpp: the file as a whole.
#include <doctest/doctest.h>

#include "support/plan_text.hpp"
#include "support/temp_folder.hpp"

using namespace deployd;
using deployd::testing::errors;
using deployd::testing::load_text;
using deployd::testing::plan_text;
using deployd::testing::TempFolder;

TEST_SUITE("plan") {
  TEST_CASE("the contract's example plan is valid") {
    Plan plan = plan_text(R"({
  "version": 1,
  "description": "Deploy yourapplication",
  "defaults": { "user": "appuser", "port": 22, "host_key_check": "strict" },
  "hosts": ["server1.example.com", "server2.example.com", "web[01:20].example.com",
            { "name": "db1", "address": "127.0.0.9", "port": 2222, "groups": ["db"], "vars": { "role": "primary" } }],
  "groups": { "web": ["server1.example.com", "web[01:20].example.com"] },
  "vars": { "app": "yourapplication" },
  "policy": { "forks": 256, "batches": [1, "10%", "100%"], "max_failures": "5%" },
  "tasks": {
    "pack":   { "on": "local", "steps": [
                  { "local": "python setup.py sdist --formats=gztar" },
                  { "local": "python setup.py --fullname", "register": "dist" } ] },
    "deploy": { "needs": ["pack"], "on": "web", "steps": [
                  { "put": "dist/{{dist}}.tar.gz", "to": "/tmp/{{app}}.tar.gz" },
                  { "run": "mkdir -p /tmp/{{app}}" },
                  { "cd": "/tmp/{{app}}", "steps": [
                      { "run": "tar xzf /tmp/{{app}}.tar.gz" },
                      { "run": "/var/www/{{app}}/env/bin/python setup.py install" } ] },
                  { "run": "rm -rf /tmp/{{app}} /tmp/{{app}}.tar.gz" },
                  { "run": "touch /var/www/{{app}}.wsgi" } ] }
  }
})");
    CHECK(plan.description == "Deploy yourapplication");
    CHECK(plan.hosts.size() == 23);
    CHECK(plan.tasks.size() == 2);
    CHECK(plan.tasks[1].hosts.size() == 21);
    CHECK(plan.tasks[1].steps.size() == 6);
    CHECK(plan.tasks[1].steps[2].cwd == "/tmp/{{app}}");
    CHECK(plan.file == "plan.json");
    CHECK(plan.directory == ".");
  }

  TEST_CASE("a JSON syntax error gives its line and column") {
    CHECK(errors("{\n  \"tasks\": {\n    \"t\": {\"steps\": [}\n") ==
          "plan.json:3:21: syntax error while parsing value: unexpected '}'; expected '[', '{', or "
          "a literal");
    CHECK(errors("") ==
          "plan.json:1:1: syntax error while parsing value: unexpected end of input; expected '[', "
          "'{', or a "
          "literal");
  }

  TEST_CASE("a trailing comma is called one (issue 19)") {
    CHECK(errors("{\"tasks\": {\"t\": {\"steps\": [{\"run\": \"x\"},\n  ]}}}") ==
          "plan.json:2:3: trailing comma before ']': JSON allows none (syntax error while parsing "
          "value: "
          "unexpected ']'; expected '[', '{', or a literal)");
    CHECK(errors("{\"tasks\": {\"t\": {\"steps\": [],}}}") ==
          "plan.json:1:30: trailing comma before '}': JSON allows none (syntax error while parsing "
          "object "
          "key: unexpected '}'; expected string literal)");
  }

  TEST_CASE(
      "a YAML plan or an INI inventory given as the plan is told that plans are JSON (issue 19)") {
    CHECK(
        errors("tasks:\n  t:\n    steps: []\n") ==
        "plan.json:1:1: not JSON: deployd reads JSON plans (this looks like YAML); inventories, "
        "JSON, INI "
        "or YAML, go with -i (syntax error while parsing value: invalid literal; last read: 'ta')");
    CHECK(errors("[web]\nweb1\n") ==
          "plan.json:1:1: not JSON: deployd reads JSON plans (this looks like an INI file); "
          "inventories, "
          "JSON, INI or YAML, go with -i (syntax error while parsing value: invalid literal; last "
          "read: '[w')");
  }

  TEST_CASE(
      "bug: a number too large for a double (1e999) threw out of parse_plan instead of an error") {
    CHECK(
        errors("{\"version\": 1,\n \"tasks\": {\"t\": {\"timeout\": \"1e999\", \"x\": 1e999}}}") ==
        "plan.json:2:43: number out of range: \"1e999\"");
    CHECK(errors("29993e999999999.0000000943346917[HHHH") ==
          "plan.json:1:1: number out of range: \"29993e999999999\"");
  }

  TEST_CASE("bug: a string of the wrong type was shown with its DEL and C1 controls raw") {
    CHECK(errors("\"passphrase_\x7f"
                 "env\\u009b\"") ==
          "plan.json:1:1: expected an object, got \"passphrase_\\u007fenv\\u009b\"");
  }

  TEST_CASE("a byte order mark is allowed and does not shift columns") {
    CHECK(errors("\xEF\xBB\xBF{\"tsks\": {}}") ==
          "plan.json:1:1: missing required key \"tasks\"\n"
          "plan.json:1:2: unknown key \"tsks\" (did you mean \"tasks\"?)");
  }

  TEST_CASE("comments are allowed") {
    plan_text(
        "// plan\n{ /* hosts */ \"hosts\": [\"a\"], \"tasks\": {\"t\": {\"steps\": [{\"run\": "
        "\"x\"}]}} }");
  }

  TEST_CASE(
      "top-level mistakes: unknown key, missing tasks, version, duplicate key, not an object") {
    CHECK(errors(R"({"hots": ["a"], "version": 2})") ==
          "plan.json:1:1: missing required key \"tasks\"\n"
          "plan.json:1:2: unknown key \"hots\" (did you mean \"hosts\"?)\n"
          "plan.json:1:28: /version: unsupported version 2 (this deployd reads version 1)");
    CHECK(errors(R"({"version": "1", "tasks": {}})") ==
          "plan.json:1:13: /version: expected 1, got \"1\"\n"
          "plan.json:1:27: /tasks: a plan needs at least one task");
    CHECK(errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "a", "run": "b"}]}}})") ==
          "plan.json:1:57: /tasks/t/steps/0: duplicate key \"run\"");
    CHECK(errors("[1]") == "plan.json:1:1: expected an object, got a list");
  }

  TEST_CASE("errors are sorted by position and capped") {
    std::string text = "{\"hosts\": [\"a\"], \"tasks\": {\"t\": {\"steps\": [";
    for (int i = 0; i < 30; ++i) text += std::string(i ? "," : "") + "{\"rn\": \"x\"}";
    text += "]}}, \"zz\": 1}";
    LoadResult result = load_text(text);
    CHECK_FALSE(result.plan.has_value());
    REQUIRE(result.errors.size() == LoadResult::kMaxErrors);
    CHECK(result.errors[0].to_string() ==
          "plan.json:1:45: /tasks/t/steps/0: unknown key \"rn\" (did you mean \"run\"?)");
    CHECK(result.errors[19].column == 45 + 19 * 12);
  }

  TEST_CASE("a diagnostic leaves out the parts it does not know") {
    Diagnostic full{.file = "p.json", .json_pointer = "/a", .line = 3, .column = 4, .message = "m"};
    CHECK(full.to_string() == "p.json:3:4: /a: m");
    CHECK(Diagnostic{.file = "p.json", .line = 3, .message = "m"}.to_string() == "p.json:3: m");
    CHECK(Diagnostic{.file = "p.json", .message = "m"}.to_string() == "p.json: m");
    CHECK(Diagnostic{.json_pointer = "/a", .message = "m"}.to_string() == "/a: m");
    CHECK(Diagnostic{.message = "m"}.to_string() == "m");
  }

  TEST_CASE("bug: a JSON pointer showed the plan's keys with their control characters raw") {
    CHECK(Diagnostic{.json_pointer = "/tasks/st\x7fp\x1b\xc2\x9b\xc3\xa9", .message = "m"}
              .to_string() == "/tasks/st\\u007fp\\u001b\\u009b\xc3\xa9: m");
    CHECK(
        errors("{\"version\": 1, \"tasks\": {\"st\x7fp\": {\"steps\": [{\"run\": \"x\"}]}}}") ==
        "plan.json:1:26: /tasks: bad task name \"st\\u007fp\" (use letters, digits, \".\", \"-\", "
        "\"_\" and \":\")\n"
        "plan.json:1:34: /tasks/st\\u007fp: task \"st\\u007fp\" targets no host (define hosts, "
        "pass -i INVENTORY or -H HOSTS, or use \"on\": \"local\")");
  }

  TEST_CASE("load_plan reads the file and reports one that cannot be read") {
    TempFolder dir;
    std::string path =
        dir.write("deploy.json", R"({"tasks": {"t": {"on": "local", "steps": [{"local": "x"}]}}})");
    LoadResult result = load_plan(path);
    REQUIRE(result.plan.has_value());
    CHECK(result.plan->file == path);
    CHECK(result.plan->directory == path.substr(0, path.rfind('/')));
    LoadResult missing = load_plan("/nonexistent/plan.json");
    REQUIRE(missing.errors.size() == 1);
    CHECK(missing.errors[0].to_string() ==
          "/nonexistent/plan.json: cannot read plan: no such file or directory");
  }
}
