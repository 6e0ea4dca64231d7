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

  TEST_CASE("a bare command runs under sh -c") {
    CHECK(remote_command(CommandSpec{.command = "echo $((1+2))"}) == "sh -c 'echo $((1+2))'");
  }

  TEST_CASE("cd fails the script when the folder is missing instead of running elsewhere") {
    CHECK(remote_command(CommandSpec{.command = "ls", .cwd = "/srv/my app"}) ==
          "sh -c 'cd -- '\\''/srv/my app'\\'' || exit 1\nls'");
  }

  TEST_CASE("sudo without a user uses sudo's default and never prompts") {
    CHECK(remote_command(CommandSpec{.command = "id -u", .sudo_user = ""}) == "sudo -n -- sh -c 'id -u'");
  }
}

}  // namespace deployd::engine
