// SPDX-License-Identifier: MIT
// The process group report and the stop command, run for real through /bin/sh.
#include "engine/remote_process.hpp"

#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include "engine/remote_command.hpp"

namespace deployd::engine {
namespace {

// Runs `command` through /bin/sh and returns its stdout and stderr together.
std::string shell_output(const std::string& command) {
  std::string output;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[256];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  ::pclose(pipe);
  return output;
}

// Runs a remote command as sshd would: its exec text with the script coming through a pipe.
std::string remote_output(const RemoteCommand& remote) {
  char path[] = "/tmp/deployd-script-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, remote.script.data(), remote.script.size()) == static_cast<ssize_t>(remote.script.size()));
  ::close(fd);
  std::string output = shell_output(std::string("cat ") + path + " | " + remote.exec);
  ::unlink(path);
  return output;
}

bool group_exists(long group) { return ::kill(static_cast<pid_t>(-group), 0) == 0 || errno == EPERM; }

// Waits up to 10 s (a loaded machine reaps late) for init to reap a killed group's last process.
bool group_is_gone(long group) {
  for (int i = 0; i < 200 && group_exists(group); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return !group_exists(group);
}

// Waits up to 10 s for a group started in the background to exist.
bool group_has_started(long group) {
  for (int i = 0; i < 200 && !group_exists(group); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return group_exists(group);
}

}  // namespace

TEST_SUITE("engine") {
  TEST_CASE("the report names the script's shell, with builtins only, and the reader takes it out of stderr") {
    CommandSpec spec{.command = "echo out; echo $$; echo err >&2", .report_process_group = true};
    std::string output = remote_output(remote_command(spec));
    ProcessGroupReader reader;
    std::string kept(reader.filter(output));
    REQUIRE(reader.group());
    CHECK(kept == "out\n" + std::to_string(*reader.group()) + "\nerr\n");
    CHECK(process_group_report(false).find("/proc") == std::string::npos);  // no file read
  }

  TEST_CASE("under sudo the report names the script's process group, read from /proc") {
    // The script is sudo's child there, not its group's leader: run it as a child of popen's
    // sh, which stays in our group.
    std::string output = shell_output("sh -c " + shell_quote(process_group_report(true)));
    ProcessGroupReader reader;
    CHECK(reader.filter(output).empty());
    CHECK(reader.group() == static_cast<long>(::getpgrp()));
  }

  TEST_CASE("a command that reads stdin gets EOF at once and never eats the rest of the script") {
    CommandSpec spec{.command = "cat\necho \"rest: $TOKEN\"\nread -r line || echo eof"};
    spec.env["TOKEN"] = "it's";
    CHECK(remote_output(remote_command(spec)) == "rest: it's\neof\n");
  }

  TEST_CASE("exit and cd failures end the script as under sh -c") {
    CHECK(remote_output(remote_command(CommandSpec{.command = "echo a; exit 3; echo b"})) == "a\n");
    CHECK(remote_output(remote_command(CommandSpec{.command = "echo here", .cwd = "/nonexistent-dir"}))
              .find("here") == std::string::npos);
  }

  TEST_CASE("a report split across chunks is still read, and the rest of the chunk is kept") {
    ProcessGroupReader reader;
    CHECK(reader.filter("\036deploy").empty());
    CHECK(reader.filter("d-pgid 4242").empty());
    CHECK(reader.filter("\nwarning: x\n") == "warning: x\n");
    CHECK(reader.group() == 4242L);
    CHECK(reader.filter("more") == "more");
  }

  TEST_CASE("stderr that is not a report is passed on whole, never dropped") {
    ProcessGroupReader plain;
    CHECK(plain.filter("error: disk full\n") == "error: disk full\n");
    CHECK_FALSE(plain.group());
    ProcessGroupReader lookalike;
    CHECK(lookalike.filter("\036deployd-pgid x1\nrest") == "\036deployd-pgid x1\nrest");
    CHECK_FALSE(lookalike.group());
    ProcessGroupReader unfinished;
    CHECK(unfinished.filter("\036depl").empty());
    CHECK(unfinished.take_held_back() == "\036depl");
  }

  TEST_CASE("the stop command ends every process of the group, children included") {
    // A group of its own, as sshd gives each command: setsid in a background job (not a group
    // leader, so setsid does not fork and $! is the group's id).
    std::string started = shell_output(
        "sh -c 'setsid sh -c \"sleep 30 & sleep 31\" </dev/null >/dev/null 2>&1 & echo $!'");
    long group = std::stol(started);
    REQUIRE(group > 1);
    REQUIRE(group_has_started(group));
    int status = std::system(stop_group_command(group, std::nullopt).c_str());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(group_is_gone(group));
  }

  TEST_CASE("the stop command given a shell that is not its group's leader stops that shell's group") {
    // A login shell that forks its command leaves the reported $$ a member, not the leader:
    // $! below is the group's second process (the leader is the setsid'd sh).
    std::string started = shell_output(
        "sh -c 'setsid sh -c \"sleep 30 >/dev/null 2>&1 & echo \\$! \\$\\$; exec sleep 31 >/dev/null 2>&1\" "
        "</dev/null 2>/dev/null &'");
    long member = 0, leader = 0;
    REQUIRE(std::sscanf(started.c_str(), "%ld %ld", &member, &leader) == 2);
    REQUIRE(member > 1);
    REQUIRE(leader > 1);
    REQUIRE(member != leader);
    REQUIRE(group_has_started(leader));
    int status = std::system(stop_group_command(member, std::nullopt).c_str());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(group_is_gone(leader));
  }

  TEST_CASE("the stop command of a group already gone succeeds at once") {
    int status = std::system(stop_group_command(999999999, std::nullopt).c_str());
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }

  TEST_CASE("the stop command of a sudo step runs as root through sudo -n") {
    CHECK(stop_group_command(77, std::string("www")).rfind("sudo -n -- sh -c ", 0) == 0);
    CHECK(stop_group_command(77, std::nullopt).rfind("sh -c ", 0) == 0);
  }

  TEST_CASE(
      "creates and removes: the script reports a skip, and the reader takes it out of stderr") {
    CommandSpec spec;
    spec.command = "echo ran";
    spec.skip_if_exists = "/";
    spec.env["A"] = "1";  // a script on stdin: the text as the shell reads it
    spec.report_process_group = true;
    // What the shell prints for a skipped step: the group report, then the skip report.
    SkipReader skip;
    ProcessGroupReader group;
    std::string rest(skip.filter(group.filter("\036deployd-pgid 4242\n\036deployd-sk")));
    CHECK(rest.empty());
    rest = skip.filter("ip c\nmore\n");
    CHECK(rest == "more\n");
    CHECK(skip.skipped_by() == 'c');
    CHECK(remote_command(spec).script.find(
              "if [ -e '/' ]; then printf '\\036deployd-skip c\\n' >&2; exit 0; fi") !=
          std::string::npos);
  }

  TEST_CASE("stderr that only looks like a skip report is output, whole") {
    SkipReader skip;
    CHECK(std::string(skip.filter("\036deployd-skip cX")) == "\036deployd-skip cX");
    CHECK(skip.skipped_by() == 0);
    SkipReader other;
    CHECK(std::string(other.filter("error: disk full\n")) == "error: disk full\n");
    CHECK(other.skipped_by() == 0);
  }
}

}  // namespace deployd::engine
