// SPDX-License-Identifier: MIT
// The remote shell text: quoting of any bytes, cd, env and sudo.
#include "engine/remote_command.hpp"

#include <doctest/doctest.h>

namespace deployd::engine {

TEST_SUITE("engine") {
  TEST_CASE("shell_quote keeps every byte literal, single quotes included") {
    CHECK(shell_quote("plain") == "'plain'");
    CHECK(shell_quote("it's") == "'it'\\''s'");
    CHECK(shell_quote("$HOME `x` \"q\"\nnext") == "'$HOME `x` \"q\"\nnext'");
    CHECK(shell_quote("") == "''");
    CHECK(shell_quote("héllo ✓") == "'héllo ✓'");
  }

  TEST_CASE("a bare command runs under sh -c, with no script on stdin (EOF only)") {
    const RemoteCommand remote = remote_command(CommandSpec{.command = "echo $((1+2))"});
    CHECK(remote.exec == "sh -c 'echo $((1+2))'");
    CHECK(remote.script.empty());
  }

  TEST_CASE("cd fails the script when the folder is missing instead of running elsewhere") {
    CHECK(remote_command(CommandSpec{.command = "ls", .cwd = "/srv/my app"}).exec ==
          "sh -c 'cd -- '\\''/srv/my app'\\'' || exit 1\nls'");
  }

  TEST_CASE("a leading ~ of cd is left to the shell, the rest quoted") {
    CHECK(remote_command(CommandSpec{.command = "ls", .cwd = "~/my app"}).exec ==
          "sh -c 'cd -- ~/'\\''my app'\\'' || exit 1\nls'");
    CHECK(remote_command(CommandSpec{.command = "ls", .cwd = "~"}).exec == "sh -c 'cd -- ~ || exit 1\nls'");
    CHECK(remote_command(CommandSpec{.command = "ls", .cwd = "/srv/~x"}).exec ==
          "sh -c 'cd -- '\\''/srv/~x'\\'' || exit 1\nls'");
  }

  TEST_CASE("sudo without a user uses sudo's default and never prompts") {
    CHECK(remote_command(CommandSpec{.command = "id -u", .sudo_user = ""}).exec == "sudo -n -- sh -c 'id -u'");
    CHECK(remote_command(CommandSpec{.command = "id -u", .sudo_user = "www", .is_secret = true}).exec ==
          "sudo -n -u 'www' -- sh -s");
  }

  TEST_CASE("env values and the command never appear in the exec text (the remote process list)") {
    CommandSpec spec{.command = "deploy --token=CMD-SECRET", .cwd = "/srv", .sudo_user = "www"};
    spec.env["TOKEN"] = "ENV-SECRET";
    const RemoteCommand remote = remote_command(spec);
    CHECK(remote.exec == "sudo -n -u 'www' -- sh -s");
    CHECK(remote.script ==
          "{\ncd -- '/srv' || exit 1\nexport TOKEN='ENV-SECRET'\ndeploy --token=CMD-SECRET\n} </dev/null\n");
    CommandSpec secret{.command = "use CMD-SECRET", .is_secret = true};
    CHECK(remote_command(secret).exec == "sh -s");
    CHECK(remote_command(secret).script == "{\nuse CMD-SECRET\n} </dev/null\n");
  }

  TEST_CASE("shell_command is the same script as one sh -c line (local sudo steps)") {
    CHECK(shell_command(CommandSpec{.command = "id -u", .sudo_user = ""}) == "sudo -n -- sh -c 'id -u'");
  }

  TEST_CASE("a step's shell replaces sh -c, its words quoted only where needed") {
    CHECK(remote_command(CommandSpec{.command = "[[ -d x ]]", .shell = {"bash", "-l", "-c"}}).exec ==
          "bash -l -c '[[ -d x ]]'");
    CHECK(remote_command(CommandSpec{.command = "id", .sudo_user = "", .shell = {"/opt/my shell", "-ec"}}).exec ==
          "sudo -n -- '/opt/my shell' -ec 'id'");
    CHECK(prefixed_command(CommandSpec{.command = "id", .shell = {"bash", "-c"}}) == "id");
  }

  TEST_CASE("a script on stdin is read by the step's shell with -s (-lc becomes -ls)") {
    CommandSpec spec{.command = "echo $A", .shell = {"bash", "-lc"}};
    spec.env["A"] = "x";
    RemoteCommand remote = remote_command(spec);
    CHECK(remote.exec == "bash -ls");
    CHECK(remote.script == "{\nexport A='x'\necho $A\n} </dev/null\n");
  }

  TEST_CASE("prefixes run after cd and env, each one required, outermost first") {
    CommandSpec spec{.command = "flask run", .cwd = "/srv", .prefixes = {"source venv/bin/activate", "a; b"}};
    CHECK(remote_command(spec).exec ==
          "sh -c 'cd -- '\\''/srv'\\'' || exit 1\n"
          "{ source venv/bin/activate\n} || exit $?\n{ a; b\n} || exit $?\nflask run'");
    CHECK(prefixed_command(spec) == "{ source venv/bin/activate\n} || exit $?\n{ a; b\n} || exit $?\nflask run");
  }
}

}  // namespace deployd::engine
