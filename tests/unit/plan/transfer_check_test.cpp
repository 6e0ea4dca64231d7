// SPDX-License-Identifier: MIT
// Tests of src/plan/transfer_check.cpp: put sources and get destinations checked before connecting.
#include <doctest/doctest.h>

#include "support/plan_text.hpp"
#include "support/temp_folder.hpp"

using namespace deployd;
using deployd::testing::errors;
using deployd::testing::file_errors;
using deployd::testing::TempFolder;

TEST_SUITE("plan") {
  TEST_CASE("a put source that does not exist beside the plan file is a plan error") {
    TempFolder dir;
    CHECK(file_errors(dir, R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"put": "dist/app.tgz", "to": "/tmp/app.tgz"}]}}})") ==
          "plan.json:2:15: /tasks/t/steps/0/put: local file \"dist/app.tgz\" does not exist");
  }

  TEST_CASE("a put source that exists, or that uses a registered variable, is accepted") {
    TempFolder dir;
    dir.write("app.tgz", "x");
    CHECK(file_errors(dir, R"({"hosts": ["a"], "vars": {"v": "app"}, "tasks": {"t": {"steps": [
      {"put": "{{v}}.tgz", "to": "/tmp/app.tgz"},
      {"run": "echo x", "register": "later"},
      {"put": "{{later}}.tgz", "to": "/tmp/b.tgz"}]}}})") == "");
  }

  TEST_CASE("a put source that is a folder is a plan error") {
    TempFolder dir;
    CHECK(file_errors(dir, R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"put": ".", "to": "/tmp/x"}]}}})") ==
          "plan.json:2:15: /tasks/t/steps/0/put: local file \".\" is a folder, not a file");
  }

  TEST_CASE("a get whose destination is the same for two hosts is a plan error") {
    CHECK(errors(R"({"hosts": ["a", "b"], "tasks": {"t": {"steps": [
      {"get": "/var/log/app.log", "to": "logs/app.log"}]}}})") ==
          "plan.json:2:41: /tasks/t/steps/0/to: hosts \"a\" and \"b\" would both write "
          "\"logs/app.log\": put \"{{host}}\" in \"to\"");
  }

  TEST_CASE("a get destination with {{host}}, or on one host, is accepted") {
    CHECK(errors(R"({"hosts": ["a", "b"], "tasks": {"t": {"steps": [
      {"get": "/var/log/app.log", "to": "logs/{{host}}.log"}]}}})") == "");
    CHECK(errors(R"({"hosts": ["a", "b"], "tasks": {"t": {"on": "a", "steps": [
      {"get": "/var/log/app.log", "to": "logs/app.log"}]}}})") == "");
  }
}
