// SPDX-License-Identifier: MIT
// Tests of src/report/output_files.cpp: output events in, per-host files out.
#include "report/output_files.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include "support.hpp"
#include "support/temp_folder.hpp"

using deployd::testing::file_text;
namespace deployd::report {

using test::at;

namespace {

Output line(std::string host, OutputStream stream, std::string text, bool partial = false) {
  return Output{std::move(host), "t", 1, stream, std::move(text), partial};
}

}  // namespace

TEST_SUITE("report") {
  TEST_CASE("output files: each host's stdout and stderr, bytes as printed, pieces joined, 0600") {
    testing::TempFolder dir;
    { std::ofstream(dir.path() / "web1.out") << "an earlier run\n"; }
    {
      OutputFilesReporter files(dir.path());
      files.on(at(0, StepStart{"web1", "t", 1, "s"}));
      files.on(at(0, StepStart{"web2", "t", 1, "s"}));
      files.on(at(1, line("web1", OutputStream::Stdout, "hello \xff\x1b[31m")));
      files.on(at(1, line("web1", OutputStream::Stderr, "oops")));
      files.on(at(1, line("web1", OutputStream::Stdout, "long ", true)));
      files.on(at(1, line("web1", OutputStream::Stdout, "line")));
      files.on(at(2, StepStart{"local", "build", 1, "s"}));
      files.on(at(2, Output{"local", "build", 1, OutputStream::Stdout, "built", false}));
      files.on(at(3, HostEnd{"web1", HostStatus::Ok, ""}));
      files.on(at(3, HostEnd{"web2", HostStatus::Ok, ""}));
      files.finish();
    }
    CHECK(file_text(dir.path() / "web1.out") == "hello \xff\x1b[31m\nlong line\n");
    CHECK(file_text(dir.path() / "web1.err") == "oops\n");
    CHECK(file_text(dir.path() / "web2.out").empty());  // ran, printed nothing
    CHECK(std::filesystem::exists(dir.path() / "web2.err"));
    CHECK(file_text(dir.path() / "local.out") == "built\n");
    struct stat st {};
    REQUIRE(::stat((dir.path() / "web1.err").c_str(), &st) == 0);  // new; web1.out keeps its mode
    CHECK((st.st_mode & 0777) == 0600);
  }

  TEST_CASE("output files: a symlink planted at a host's name is not followed") {
    testing::TempFolder dir;
    const std::filesystem::path target = dir.path() / "target";
    { std::ofstream(target) << "keep"; }
    std::filesystem::create_symlink(target, dir.path() / "web1.out");
    {
      OutputFilesReporter files(dir.path());
      files.on(at(0, StepStart{"web1", "t", 1, "s"}));
      files.on(at(1, line("web1", OutputStream::Stdout, "evil")));
      files.on(at(2, HostEnd{"web1", HostStatus::Ok, ""}));
    }
    CHECK(file_text(target) == "keep");
    CHECK(std::filesystem::is_symlink(dir.path() / "web1.out"));
  }

  TEST_CASE("output files: a slash in a host's name cannot leave the folder") {
    CHECK(output_file_name("a/../b", OutputStream::Stdout) == "a_.._b.out");
    CHECK(output_file_name("web1", OutputStream::Stderr) == "web1.err");
  }
}

}  // namespace deployd::report
