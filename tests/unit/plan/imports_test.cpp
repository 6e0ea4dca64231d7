// SPDX-License-Identifier: MIT
// Tests of src/plan/imports.cpp: imported task files, their names, needs, paths and errors.
#include <doctest/doctest.h>

#include <filesystem>

#include "support/plan_text.hpp"
#include "support/temp_folder.hpp"

using namespace deployd;
using deployd::testing::folder_of;
using deployd::testing::TempFolder;
using Names = std::vector<std::string>;

namespace {

// Every error of loading `path`, with the scratch folder written "DIR".
std::string load_errors(const std::string& path, const std::string& dir) {
  std::string lines;
  for (const Diagnostic& error : load_plan(path, deployd::testing::test_options()).errors)
    lines += (lines.empty() ? "" : "\n") + error.to_string();
  for (std::size_t at; (at = lines.find(dir)) != std::string::npos;)
    lines.replace(at, dir.size(), "DIR");
  return lines;
}

Plan loaded(const std::string& path) {
  LoadResult result = load_plan(path, deployd::testing::test_options());
  INFO(load_errors(path, folder_of(path)));
  REQUIRE(result.plan.has_value());
  return *result.plan;
}

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("an imported file's tasks are named NAME:TASK and its needs name its own tasks") {
    TempFolder dir;
    dir.write("lib/nginx.json", R"({"description": "nginx", "vars": {"site": "app", "port": 80},
      "tasks": {
        "site": {"steps": [{"put": "files/{{site}}.conf", "to": "/etc/nginx/{{site}}"}]},
        "reload": {"needs": "site", "steps": [{"run": "nginx -s reload"}]},
        "after": {"needs": ["reload"], "on": "local", "steps": [{"local": "ls"}]}}})");
    dir.write("lib/files/shop.conf", "server {}\n");
    std::string plan = dir.write("plan.json", R"({"hosts": ["web"], "vars": {"site": "shop"},
      "imports": {"nginx": {"file": "lib/nginx.json", "needs": "build"}},
      "tasks": {"build": {"on": "local", "steps": [{"local": "make"}]},
                "deploy": {"needs": "nginx:reload", "steps": [{"run": "x"}]}}})");
    Plan loaded_plan = loaded(plan);
    Names names;
    for (const Task& task : loaded_plan.tasks) names.push_back(task.name);
    CHECK(names == Names{"nginx:site", "nginx:reload", "nginx:after", "build", "deploy"});
    // The file's first task waits for what the import entry needs, a task of the importing plan.
    CHECK(loaded_plan.find_task("nginx:site")->needs == Names{"build"});
    CHECK(loaded_plan.find_task("nginx:reload")->needs == Names{"nginx:site"});
    CHECK(loaded_plan.find_task("nginx:after")->needs == Names{"nginx:reload"});
    CHECK(loaded_plan.find_task("deploy")->needs == Names{"nginx:reload"});
    // The plan's vars win over an imported file's; the file's others are defaults.
    CHECK(loaded_plan.vars.at("site") == "shop");
    CHECK(loaded_plan.vars.at("port") == "80");
    // Relative local paths start from the imported file's folder, the plan's steps from the plan's.
    CHECK(loaded_plan.find_task("nginx:site")->steps[0].directory == folder_of(plan) + "/lib");
    CHECK(loaded_plan.find_task("nginx:after")->steps[0].directory == folder_of(plan) + "/lib");
    CHECK(loaded_plan.find_task("build")->steps[0].directory.empty());
  }

  TEST_CASE("imports nest: a file imported by an imported file adds its name too") {
    TempFolder dir;
    dir.write("lib/base.json", R"({"tasks": {"check": {"steps": [{"run": "true"}]}}})");
    dir.write("lib/app/app.json", R"({"imports": {"base": {"file": "../base.json", "needs": "pre"}},
      "tasks": {"pre": {"steps": [{"run": "x"}]},
                "go": {"needs": "base:check", "steps": [{"run": "x"}]}}})");
    std::string plan = dir.write("plan.json", R"({"hosts": ["web"],
      "imports": {"app": "lib/app/app.json"}, "tasks": {"t": {"needs": "app:go", "steps": [{"run": "x"}]}}})");
    Plan loaded_plan = loaded(plan);
    REQUIRE(loaded_plan.find_task("app:base:check") != nullptr);
    CHECK(loaded_plan.find_task("app:go")->needs == Names{"app:base:check"});
    CHECK(loaded_plan.find_task("app:base:check")->needs == Names{"app:pre"});
    CHECK(loaded_plan.find_task("app:base:check")->steps[0].directory == folder_of(plan) + "/lib");
    CHECK(loaded_plan.find_task("app:go")->steps[0].directory == folder_of(plan) + "/lib/app");
  }

  TEST_CASE("an import cycle is an error where it closes, naming the first import") {
    TempFolder dir;
    dir.write("lib/a.json",
              R"({"imports": {"b": "b.json"}, "tasks": {"x": {"steps": [{"run": "x"}]}}})");
    dir.write("lib/b.json",
              R"({"imports": {"a": "a.json"}, "tasks": {"y": {"steps": [{"run": "y"}]}}})");
    std::string plan = dir.write("plan.json", R"({"hosts": ["web"], "imports": {"a": "lib/a.json"},
      "tasks": {"t": {"steps": [{"run": "x"}]}}})");
    CHECK(load_errors(plan, folder_of(plan)) ==
          "DIR/lib/b.json:1:19: /imports/a: import cycle: DIR/lib/a.json -> DIR/lib/b.json -> "
          "DIR/lib/a.json (\"DIR/lib/a.json\" is first imported at DIR/plan.json:1:37 /imports/a)");
  }

  TEST_CASE("a plan importing itself is a cycle") {
    TempFolder dir;
    std::string plan = dir.write("plan.json", R"({"hosts": ["web"], "imports": {"me": "plan.json"},
      "tasks": {"t": {"steps": [{"run": "x"}]}}})");
    CHECK(load_errors(plan, folder_of(plan)) ==
          "DIR/plan.json:1:38: /imports/me: import cycle: DIR/plan.json -> DIR/plan.json");
  }

  TEST_CASE("a task defined twice by the plan and an import names both places") {
    TempFolder dir;
    dir.write("lib/nginx.json", R"({"tasks": {
      "reload": {"steps": [{"run": "x"}]}}})");
    std::string plan =
        dir.write("plan.json", R"({"hosts": ["web"], "imports": {"nginx": "lib/nginx.json"},
      "tasks": {"nginx:reload": {"steps": [{"run": "x"}]}}})");
    CHECK(
        load_errors(plan, folder_of(plan)) ==
        "DIR/plan.json:2:33: /tasks/nginx:reload: task \"nginx:reload\" is defined twice: here and "
        "at DIR/lib/nginx.json:2:17 /tasks/reload");
  }

  TEST_CASE("an imported file holds tasks and vars: hosts, default and bad names are errors") {
    TempFolder dir;
    dir.write("lib/x.json", R"({"hosts": ["web"], "vars": {"v": 1},
      "tasks": {"t": {"default": true, "needs": "tt", "steps": [{"run": "x"}]}}})");
    dir.write("lib/y.json", R"({"vars": {"v": 2}, "tasks": {"u": {"steps": [{"run": "x"}]}}})");
    std::string plan = dir.write("plan.json", R"({"hosts": ["web"],
      "imports": {"x": "lib/x.json", "y": "lib/y.json", "bad:name": "z.json", "gone": "lib/none.json",
                  "obj": {"fil": "a.json", "needs": "nope"}},
      "tasks": {"t": {"steps": [{"run": "x"}]}}})");
    CHECK(
        load_errors(plan, folder_of(plan)) ==
        "DIR/lib/x.json:1:2: \"hosts\" belongs in the plan: an imported file holds tasks and vars\n"
        "DIR/lib/x.json:2:34: /tasks/t/default: \"default\" cannot be used in an imported file: "
        "the plan chooses what runs\n"
        "DIR/lib/x.json:2:49: /tasks/t/needs: unknown task \"x:tt\" (did you mean \"x:t\"?)\n"
        "DIR/lib/y.json:1:16: /vars/v: variable \"v\" is set differently at DIR/lib/x.json:1:34 "
        "/vars/v: set it in the plan's \"vars\"\n"
        "DIR/plan.json:2:57: /imports: bad import name \"bad:name\" (use letters, digits, \".\", "
        "\"-\" and \"_\")\n"
        "DIR/plan.json:2:87: /imports/gone: cannot read \"DIR/lib/none.json\": no such file or "
        "directory\n"
        "DIR/plan.json:3:26: /imports/obj: missing required key \"file\"\n"
        "DIR/plan.json:3:27: /imports/obj: unknown key \"fil\" (did you mean \"file\"?)");
  }

  TEST_CASE("an import of a device is refused, not read") {
    TempFolder dir;
    std::string plan = dir.write("plan.json", R"({"hosts": ["web"], "imports": {"z": "/dev/zero"},
      "tasks": {"t": {"steps": [{"run": "x"}]}}})");
    CHECK(load_errors(plan, folder_of(plan)) ==
          "DIR/plan.json:1:37: /imports/z: cannot read \"/dev/zero\": not a regular file");
  }

  TEST_CASE("a hermetic load reads no import") {
    LoadOptions options = deployd::testing::test_options();
    options.read_imports = false;
    CHECK(deployd::testing::errors(R"({"hosts": ["web"], "imports": {"a": "lib/a.json"},
      "tasks": {"t": {"steps": [{"run": "x"}]}}})",
                                   options) ==
          "plan.json:1:31: /imports: \"imports\" is not read in this load");
  }
}
