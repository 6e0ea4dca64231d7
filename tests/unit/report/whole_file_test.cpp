// SPDX-License-Identifier: MIT
// Tests src/report/whole_file.cpp: a report file is written whole, never through a symlink.
#include "report/whole_file.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/temp_folder.hpp"

using deployd::testing::file_text;
namespace fs = std::filesystem;
using deployd::report::write_whole_file;
using deployd::testing::TempFolder;

namespace {


}  // namespace

TEST_SUITE("report") {
  TEST_CASE("write_whole_file: the file is written 0600, and replaced whole") {
    TempFolder folder;
    const fs::path file = folder.path() / "report.html";
    CHECK(write_whole_file(file, "first") == "");
    CHECK(write_whole_file(file, "second") == "");
    CHECK(file_text(file) == "second");
    struct stat info {};
    REQUIRE(::stat(file.c_str(), &info) == 0);
    CHECK((info.st_mode & 07777) == 0600);
    CHECK(std::distance(fs::directory_iterator(folder.path()), fs::directory_iterator()) == 1);
  }

  TEST_CASE("write_whole_file: a symlink planted at the name is replaced, its target untouched") {
    TempFolder folder;
    const fs::path victim = folder.path() / "victim";
    std::ofstream(victim) << "precious";
    const fs::path file = folder.path() / "report.xml";
    fs::create_symlink(victim, file);
    fs::create_symlink(victim, folder.path() / "report.xml.tmp");  // the old predictable name
    CHECK(write_whole_file(file, "<xml/>") == "");
    CHECK(file_text(victim) == "precious");
    CHECK_FALSE(fs::is_symlink(file));
    CHECK(file_text(file) == "<xml/>");
  }

  TEST_CASE("write_whole_file: a folder that does not exist is an error, and nothing is left") {
    TempFolder folder;
    CHECK(write_whole_file(folder.path() / "missing" / "report.html", "x") ==
          "No such file or directory");
    CHECK(fs::is_empty(folder.path()));
  }
}
