// SPDX-License-Identifier: MIT
// Tests of src/plan/shell_reader.cpp: `shell` on the plan, tasks, cd blocks and steps, and
// `prefix` on tasks and cd blocks.
#include <doctest/doctest.h>

#include "support/plan_text.hpp"

using namespace deployd;
using deployd::testing::errors;
using deployd::testing::plan_text;

using Words = std::vector<std::string>;

TEST_SUITE("plan") {
  TEST_CASE("the innermost shell wins: plan, task, cd block, step; sh is the default, spelled out or not") {
    Plan plan = plan_text(R"({"hosts": ["a"], "shell": "bash", "tasks": {
      "p": {"steps": [{"run": "a"}]},
      "t": {"shell": ["bash", "-l", "-c"], "steps": [
        {"run": "b"},
        {"cd": "/x", "shell": "sh", "steps": [{"run": "c"}, {"local": "d", "shell": ["zsh", "-fc"]}]},
        {"run": "e", "shell": ["sh", "-c"]}]}}})");
    const std::vector<Step>& p = plan.tasks.at(0).steps;
    const std::vector<Step>& t = plan.tasks.at(1).steps;
    CHECK(p.at(0).shell == Words{"bash", "-c"});
    CHECK(t.at(0).shell == Words{"bash", "-l", "-c"});
    CHECK(t.at(1).shell == Words{});
    CHECK(t.at(2).shell == Words{"zsh", "-fc"});
    CHECK(t.at(3).shell == Words{});
  }

  TEST_CASE("prefixes of the task and the enclosing cd blocks come outermost first") {
    Plan plan = plan_text(R"({"hosts": ["a"], "tasks": {"t": {"prefix": "one", "steps": [
      {"run": "a"},
      {"cd": "/x", "prefix": "two", "steps": [{"cd": "y", "prefix": "three", "steps": [{"run": "b"}]}]},
      {"run": "c"}]}}})");
    const std::vector<Step>& steps = plan.tasks.at(0).steps;
    CHECK(steps.at(0).prefixes == Words{"one"});
    CHECK(steps.at(1).prefixes == Words{"one", "two", "three"});
    CHECK(steps.at(2).prefixes == Words{"one"});
  }

  TEST_CASE("a bad shell or a misplaced shell or prefix is an error naming its place") {
    CHECK(errors(R"({"hosts": ["a"], "shell": "zsh", "tasks": {"t": {"steps": [
      {"run": "a", "shell": ["bash", "-l"]},
      {"run": "b", "shell": []},
      {"put": "c", "to": "c", "shell": "bash"},
      {"run": "d", "prefix": "x"},
      {"cd": "/e", "prefix": "", "steps": [{"run": "e"}]}]}}})") ==
          "plan.json:1:27: /shell: expected \"sh\", \"bash\" or a command line ending in an option like "
          "\"-c\" that the command follows, e.g. [\"bash\", \"-l\", \"-c\"], got \"zsh\"\n"
          "plan.json:2:38: /tasks/t/steps/0/shell/1: the shell's command line must end with the option "
          "that takes the command, like \"-c\" (got \"-l\")\n"
          "plan.json:3:29: /tasks/t/steps/1/shell: expected \"sh\", \"bash\" or a command line ending in an "
          "option like \"-c\" that the command follows, e.g. [\"bash\", \"-l\", \"-c\"], got a list\n"
          "plan.json:4:31: /tasks/t/steps/2: \"shell\" is only used with \"run\", \"local\" and \"cd\"\n"
          "plan.json:5:20: /tasks/t/steps/3: \"prefix\" is only used with \"cd\" blocks and tasks\n"
          "plan.json:6:30: /tasks/t/steps/4/prefix: expected a non-empty string, got \"\"");
  }
}
