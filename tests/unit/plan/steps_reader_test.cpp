// SPDX-License-Identifier: MIT
// Tests of src/plan/steps_reader.cpp: actions, options, and `cd` blocks flattened.
#include <doctest/doctest.h>

#include "support/plan_text.hpp"

using namespace deployd;
using deployd::testing::errors;
using deployd::testing::plan_text;

TEST_SUITE("plan") {
  TEST_CASE("each action becomes a step of its kind with its options") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"run": "make", "name": "build", "sudo": true, "env": {"A": "1", "N": 2}, "timeout": 5,
       "retries": 3, "retry_delay": "250ms", "ignore_errors": true, "secret": true, "register": "out"},
      {"local": "ls", "sudo": "deploy"},
      {"put": "dist/app.tgz", "to": "/tmp/app.tgz", "mode": "0644"},
      {"get": "/var/log/app.log", "to": "logs/{{host}}.log", "sudo": false, "mode": "0640",
       "max_size": "100M"}]}}})");
    const std::vector<Step>& steps = plan.tasks.at(0).steps;
    REQUIRE(steps.size() == 4);
    CHECK(steps[0].kind == StepKind::Run);
    CHECK(steps[0].command == "make");
    CHECK(steps[0].name == "build");
    CHECK(steps[0].sudo_user == "");
    CHECK(steps[0].env == VarMap{{"A", "1"}, {"N", "2"}});
    CHECK(steps[0].timeout == Duration(5000));
    CHECK(steps[0].retries == 3);
    CHECK(steps[0].retry_delay == Duration(250));
    CHECK(steps[0].ignore_errors);
    CHECK(steps[0].secret);
    CHECK(steps[0].register_as == "out");
    CHECK(steps[0].json_pointer == "/tasks/t/steps/0");
    CHECK(steps[1].kind == StepKind::Local);
    CHECK(steps[1].sudo_user == "deploy");
    CHECK(steps[1].retries == std::nullopt);
    CHECK(steps[2].kind == StepKind::Put);
    CHECK(steps[2].command == "dist/app.tgz");
    CHECK(steps[2].to == "/tmp/app.tgz");
    CHECK(steps[2].mode == "0644");
    CHECK(steps[3].kind == StepKind::Get);
    CHECK(steps[3].sudo_user == std::nullopt);
    CHECK(steps[3].mode == "0640");
    CHECK(steps[3].max_size == 100u << 20);
    CHECK(steps[2].max_size == std::nullopt);
  }

  TEST_CASE("max_size is bytes, or a string with a K, M, G or T suffix, on get only") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"get": "/a", "to": "a", "max_size": 1000},
      {"get": "/b", "to": "b", "max_size": "64K"},
      {"get": "/c", "to": "c", "max_size": "2G"},
      {"get": "/d", "to": "d", "max_size": "0"}]}}})");
    const std::vector<Step>& steps = plan.tasks.at(0).steps;
    REQUIRE(steps.size() == 4);
    CHECK(steps[0].max_size == 1000u);
    CHECK(steps[1].max_size == 64u * 1024);
    CHECK(steps[2].max_size == std::uint64_t{2} << 30);
    CHECK(steps[3].max_size == 0u);
    CHECK(errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"get": "/a", "to": "a", "max_size": "10 MB"},
      {"get": "/b", "to": "b", "max_size": -1},
      {"put": "c", "to": "c", "max_size": "1M"}]}}})") ==
          "plan.json:2:44: /tasks/t/steps/0/max_size: expected a size in bytes like 1048576 or "
          "\"100M\" (K, M, G, T: powers of 1024), got \"10 MB\"\n"
          "plan.json:3:44: /tasks/t/steps/1/max_size: expected a size in bytes like 1048576 or "
          "\"100M\" (K, M, G, T: powers of 1024), got -1\n"
          "plan.json:4:31: /tasks/t/steps/2: \"max_size\" is only used with \"get\"");
  }

  TEST_CASE("cd blocks flatten into their steps with joined directories and inherited options") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"run": "first"},
      {"cd": "/srv/app", "sudo": "app", "env": {"A": "outer", "B": "outer"}, "steps": [
        {"run": "in-app"},
        {"cd": "releases/", "env": {"B": "inner"}, "steps": [
          {"cd": "current", "steps": [{"run": "deep", "sudo": false}]},
          {"cd": "/abs", "steps": [{"run": "absolute"}]},
          {"cd": "~/home", "steps": [{"run": "home"}]}]}]},
      {"run": "last"}]}}})");
    const std::vector<Step>& steps = plan.tasks.at(0).steps;
    REQUIRE(steps.size() == 6);
    CHECK(steps[0].cwd == "");
    CHECK(steps[1].command == "in-app");
    CHECK(steps[1].cwd == "/srv/app");
    CHECK(steps[1].sudo_user == "app");
    CHECK(steps[1].env == VarMap{{"A", "outer"}, {"B", "outer"}});
    CHECK(steps[1].json_pointer == "/tasks/t/steps/1/steps/0");
    CHECK(steps[2].cwd == "/srv/app/releases/current");
    CHECK(steps[2].sudo_user == std::nullopt);
    CHECK(steps[2].env == VarMap{{"A", "outer"}, {"B", "inner"}});
    CHECK(steps[2].json_pointer == "/tasks/t/steps/1/steps/1/steps/0/steps/0");
    CHECK(steps[3].cwd == "/abs");
    CHECK(steps[4].cwd == "~/home");
    CHECK(steps[5].cwd == "");
    CHECK(steps[5].sudo_user == std::nullopt);
  }

  TEST_CASE("an unknown step key is an error with a suggestion, at the key's line and column") {
    CHECK(errors(R"({
  "hosts": ["a"],
  "tasks": {
    "deploy": {"steps": [
      {"run": "ls"}, {"run": "ls"},
      {"rn": "make"}]}}})") ==
          "plan.json:6:8: /tasks/deploy/steps/2: unknown key \"rn\" (did you mean \"run\"?)");
  }

  TEST_CASE("sudo on a put or get is read, written or inherited; owner and group belong to put") {
    Plan plan = plan_text(R"({"hosts": ["a"], "vars": {"g": "adm"}, "tasks": {"t": {"steps": [
      {"put": "a", "to": "/etc/b", "sudo": true, "owner": "root", "group": "{{g}}"},
      {"get": "/x", "to": "y", "sudo": "backup"},
      {"cd": "/srv", "sudo": true, "steps": [{"put": "a", "to": "b", "owner": "1001"}]}]}}})");
    const std::vector<Step>& steps = plan.tasks.at(0).steps;
    REQUIRE(steps.size() == 3);
    CHECK(steps[0].sudo_user == "");
    CHECK(steps[0].owner == "root");
    CHECK(steps[0].group == "{{g}}");  // interpolated per host when the step runs
    CHECK(steps[1].sudo_user == "backup");
    CHECK(steps[1].owner == "");
    CHECK(steps[2].sudo_user == "");
    CHECK(steps[2].owner == "1001");
    CHECK(errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"get": "/x", "to": "y", "owner": "root"},
      {"run": "ls", "group": "adm"},
      {"put": "a", "to": "b", "owner": "a b"},
      {"put": "a", "to": "b", "group": ""}]}}})") ==
          "plan.json:2:32: /tasks/t/steps/0: \"owner\" is only used with \"put\" and \"template\"\n"
          "plan.json:3:21: /tasks/t/steps/1: \"group\" is only used with \"put\" and \"template\"\n"
          "plan.json:4:40: /tasks/t/steps/2/owner: expected a user or group name or number, got "
          "\"a b\"\n"
          "plan.json:5:40: /tasks/t/steps/3/group: expected a non-empty string, got \"\"");
  }

  TEST_CASE("recursive belongs to put and get, with or without sudo, owner and group") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"put": "dist", "to": "/srv/app", "recursive": true},
      {"get": "/var/log/app", "to": "logs/{{host}}", "recursive": true},
      {"put": "a", "to": "b", "recursive": false},
      {"put": "dist", "to": "/srv/app", "recursive": true, "sudo": true, "owner": "www-data"},
      {"get": "/var/log/app", "to": "logs/{{host}}", "recursive": true, "sudo": true}]}}})");
    const std::vector<Step>& steps = plan.tasks.at(0).steps;
    REQUIRE(steps.size() == 5);
    CHECK(steps[0].recursive);
    CHECK(steps[1].recursive);
    CHECK_FALSE(steps[2].recursive);
    CHECK(steps[3].recursive);
    CHECK(steps[3].sudo_user == "");
    CHECK(steps[3].owner == "www-data");
    CHECK(steps[4].recursive);
    CHECK(steps[4].sudo_user == "");
    CHECK(errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"run": "ls", "recursive": true},
      {"put": "a", "to": "b", "recursive": "yes"}]}}})") ==
          "plan.json:2:21: /tasks/t/steps/0: \"recursive\" is only used with \"put\" and \"get\"\n"
          "plan.json:3:44: /tasks/t/steps/1/recursive: expected true or false, got \"yes\"");
  }

  TEST_CASE("no_log is read like secret, on a step or a cd block, and is not secret") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"run": "x", "no_log": true, "register": "changed"},
      {"cd": "/srv", "no_log": true, "steps": [{"run": "y"}, {"run": "z", "no_log": false}]},
      {"run": "w", "secret": true}]}}})");
    const std::vector<Step>& steps = plan.tasks.at(0).steps;
    REQUIRE(steps.size() == 4);
    CHECK((steps[0].no_log && !steps[0].secret && steps[0].hides_command()));
    CHECK((steps[1].no_log && steps[1].hides_command()));
    CHECK((!steps[2].no_log && !steps[2].hides_command()));
    CHECK((steps[3].secret && !steps[3].no_log && steps[3].hides_command()));
    CHECK(errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "x", "no_log": "yes"}]}}})") ==
          "plan.json:1:67: /tasks/t/steps/0/no_log: expected true or false, got \"yes\"");
  }

  TEST_CASE("sudo \"yes\" or \"no\" is refused, not taken for a user of that name (issue 19)") {
    CHECK(errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "x", "sudo": "yes"}]}}})") ==
          "plan.json:1:65: /tasks/t/steps/0/sudo: expected true, false or a user name, got \"yes\" "
          "(write true "
          "to run as root)");
    CHECK(errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "x", "sudo": "No"}]}}})") ==
          "plan.json:1:65: /tasks/t/steps/0/sudo: expected true, false or a user name, got \"No\" "
          "(write false "
          "for no sudo)");
    CHECK(
        plan_text(R"({"hosts": ["a"], "tasks": {"t": {"steps": [{"run": "x", "sudo": "root"}]}}})")
            .tasks[0]
            .steps[0]
            .sudo_user == "root");
  }

  TEST_CASE("a step needs exactly one action") {
    CHECK(errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"run": "ls", "local": "ls"},
      {"name": "nothing to do"},
      {"cd": "/x", "put": "a", "to": "b"}]}}})") ==
          "plan.json:2:21: /tasks/t/steps/0: a step has exactly one action, found \"run\" and "
          "\"local\"\n"
          "plan.json:3:7: /tasks/t/steps/1: a step needs one action: \"run\", \"local\", \"put\", "
          "\"get\", \"template\" or \"cd\"\n"
          "plan.json:4:20: /tasks/t/steps/2: a step has exactly one action, found \"cd\" and "
          "\"put\"");
  }

  TEST_CASE("put and get need to, and keys of other actions are errors") {
    CHECK(
        errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"put": "app.tgz"},
      {"run": "x", "to": "y", "mode": "0644"},
      {"run": "ls", "steps": []},
      {"put": "a", "to": "b", "mode": 644},
      {"cd": "/x"},
      {"cd": "/x", "name": "n", "register": "r", "steps": [{"run": "x"}]}]}}})") ==
        "plan.json:2:7: /tasks/t/steps/0: \"put\" needs \"to\": where the file goes\n"
        "plan.json:3:20: /tasks/t/steps/1: \"to\" is only used with \"put\", \"get\" and "
        "\"template\"\n"
        "plan.json:3:31: /tasks/t/steps/1: \"mode\" is only used with \"put\", \"get\" and "
        "\"template\"\n"
        "plan.json:4:21: /tasks/t/steps/2: \"steps\" is only used with \"cd\"\n"
        "plan.json:5:39: /tasks/t/steps/3/mode: expected an octal mode like \"0644\", got 644\n"
        "plan.json:6:7: /tasks/t/steps/4: \"cd\" needs \"steps\": the steps run in that directory\n"
        "plan.json:7:20: /tasks/t/steps/5: \"name\" cannot be used on a \"cd\" block\n"
        "plan.json:7:33: /tasks/t/steps/5: \"register\" cannot be used on a \"cd\" block");
  }

  TEST_CASE("step options of the wrong type are errors") {
    CHECK(errors(R"({"hosts": ["a"], "tasks": {"t": {"steps": [
      {"run": 42, "sudo": "", "env": {"BAD NAME": "x", "OK": []}, "retries": -1, "timeout": 0,
       "ignore_errors": "yes", "register": "host"}]}}})") ==
          "plan.json:2:15: /tasks/t/steps/0/run: expected a non-empty string, got 42\n"
          "plan.json:2:27: /tasks/t/steps/0/sudo: expected true, false or a user name, got \"\"\n"
          "plan.json:2:39: /tasks/t/steps/0/env: bad environment variable name \"BAD NAME\" (use "
          "letters, digits "
          "and \"_\")\n"
          "plan.json:2:62: /tasks/t/steps/0/env/OK: expected a string, number or boolean, got a "
          "list\n"
          "plan.json:2:78: /tasks/t/steps/0/retries: expected an integer of at least 0, got -1\n"
          "plan.json:2:93: /tasks/t/steps/0/timeout: a timeout must be longer than 0s\n"
          "plan.json:3:25: /tasks/t/steps/0/ignore_errors: expected true or false, got \"yes\"\n"
          "plan.json:3:44: /tasks/t/steps/0/register: \"host\" is a built-in variable and cannot "
          "be registered");
  }

  TEST_CASE("a local task can only run local steps") {
    CHECK(
        errors(
            R"({"tasks": {"pack": {"on": "local", "steps": [{"run": "make"}, {"put": "a", "to": "b"}]}}})") ==
        "plan.json:1:47: /tasks/pack/steps/0: a local task has no remote host: \"run\" cannot be "
        "used (use "
        "\"local\")\n"
        "plan.json:1:64: /tasks/pack/steps/1: a local task has no remote host: \"put\" cannot be "
        "used (use "
        "\"local\")");
  }

  TEST_CASE("delegate_to names a plan host or local, and a cd block passes it on") {
    Plan plan = plan_text(R"({"hosts": ["web1", "lb1"], "tasks": {"t": {"on": "web1", "steps": [
      {"run": "pool remove {{host}}", "delegate_to": "lb1", "name": "out on {{delegate}}"},
      {"run": "echo {{host}} >> done.log", "delegate_to": "local"},
      {"cd": "/srv", "delegate_to": "lb1", "steps": [{"run": "ls"}]},
      {"run": "deploy"}]}}})");
    const std::vector<Step>& steps = plan.tasks[0].steps;
    REQUIRE(steps.size() == 4);
    CHECK(steps[0].kind == StepKind::Run);
    CHECK(steps[0].delegate_to == "lb1");
    // Delegated to the controller, a run step is a local step with the host's variables.
    CHECK(steps[1].kind == StepKind::Local);
    CHECK(steps[1].delegate_to == "local");
    CHECK(steps[2].delegate_to == "lb1");
    CHECK(steps[2].cwd == "/srv");
    CHECK(steps[3].delegate_to.empty());
  }

  TEST_CASE("a bad delegate_to is a load-time error with a suggestion") {
    CHECK(
        errors(R"({"hosts": ["web1", "lb1"], "tasks": {
      "t": {"on": "web1", "steps": [{"run": "x", "delegate_to": "lb2"},
                                    {"put": "a", "to": "b", "delegate_to": "lb1"},
                                    {"run": "{{delegate}}"}]},
      "l": {"on": "local", "steps": [{"local": "x", "delegate_to": "lb1"}]}}})") ==
        "plan.json:2:65: /tasks/t/steps/0/delegate_to: \"delegate_to\": unknown host \"lb2\" (did "
        "you mean \"lb1\"?) (a host of the plan, or \"local\")\n"
        "plan.json:3:38: /tasks/t/steps/1: \"delegate_to\" is used with \"run\" steps, not "
        "\"put\"\n"
        "plan.json:4:45: /tasks/t/steps/2/run: undefined variable \"delegate\" (a step has one "
        "with \"delegate_to\")\n"
        "plan.json:5:68: /tasks/l/steps/0/delegate_to: a local task runs on the controller: "
        "\"delegate_to\" cannot be used");
  }
}
