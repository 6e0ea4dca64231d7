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

  TEST_CASE("a bare command is a script for sh -s on stdin, in a group whose stdin is /dev/null") {
    const RemoteCommand remote = remote_command(CommandSpec{.command = "echo $((1+2))"});
    CHECK(remote.exec == "sh -s");
    CHECK(remote.script == "{\necho $((1+2))\n} </dev/null\n");
  }

  TEST_CASE("cd fails the script when the folder is missing instead of running elsewhere") {
    CHECK(remote_command(CommandSpec{.command = "ls", .cwd = "/srv/my app"}).script ==
          "{\ncd -- '/srv/my app' || exit 1\nls\n} </dev/null\n");
  }

  TEST_CASE("sudo without a user uses sudo's default and never prompts") {
    CHECK(remote_command(CommandSpec{.command = "id -u", .sudo_user = ""}).exec == "sudo -n -- sh -s");
    CHECK(remote_command(CommandSpec{.command = "id -u", .sudo_user = "www"}).exec ==
          "sudo -n -u 'www' -- sh -s");
  }

  TEST_CASE("env values and the command never appear in the exec text (the remote process list)") {
    CommandSpec spec{.command = "deploy --token=CMD-SECRET", .cwd = "/srv", .sudo_user = "www"};
    spec.env["TOKEN"] = "ENV-SECRET";
    const RemoteCommand remote = remote_command(spec);
    CHECK(remote.exec.find("SECRET") == std::string::npos);
    CHECK(remote.script.find("export TOKEN='ENV-SECRET'\n") != std::string::npos);
    CHECK(remote.script.find("deploy --token=CMD-SECRET") != std::string::npos);
  }

  TEST_CASE("shell_command is the same script as one sh -c line (local sudo steps)") {
    CHECK(shell_command(CommandSpec{.command = "id -u", .sudo_user = ""}) == "sudo -n -- sh -c 'id -u'");
  }
}

}  // namespace deployd::engine
