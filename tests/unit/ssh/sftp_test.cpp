// SPDX-License-Identifier: MIT
// Tests of src/ssh/sftp_source.cpp: temporary names, mapped sources, their sha256 and the cache.
#include "ssh/sftp.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "support/temp_folder.hpp"

namespace deployd::ssh {
TEST_SUITE("ssh") {
  TEST_CASE("the temporary file sits beside the target, hidden and named after the run") {
    CHECK(temp_path_for("/srv/app/app.tgz", "r1") == "/srv/app/.app.tgz.deployd-r1.tmp");
    CHECK(temp_path_for("app.tgz", "r1") == ".app.tgz.deployd-r1.tmp");
    CHECK(temp_path_for("/x", "r1") == "/.x.deployd-r1.tmp");
    CHECK(parent_folder("/srv/app/app.tgz") == "/srv/app");
    CHECK(parent_folder("/x") == "/");
    CHECK(parent_folder("x") == ".");
  }

  TEST_CASE("a source file is mapped, and hashed like sha256sum") {
    testing::TempFolder folder;
    const std::string path = folder.write("abc", "abc");
    auto opened = SourceFile::open(path);
    REQUIRE(std::holds_alternative<std::shared_ptr<SourceFile>>(opened));
    const auto& file = std::get<std::shared_ptr<SourceFile>>(opened);
    CHECK(file->size() == 3);
    CHECK(file->bytes() == "abc");
    CHECK(file->sha256() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  }

  TEST_CASE("an empty source file has no mapping and the empty sha256") {
    testing::TempFolder folder;
    const std::string path = folder.write("empty", "");
    auto opened = SourceFile::open(path);
    REQUIRE(std::holds_alternative<std::shared_ptr<SourceFile>>(opened));
    const auto& file = std::get<std::shared_ptr<SourceFile>>(opened);
    CHECK(file->size() == 0);
    CHECK(file->sha256() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }

  TEST_CASE("a missing source names the path and the cause") {
    auto opened = SourceFile::open("/nonexistent/deployd/app.tgz");
    REQUIRE(std::holds_alternative<std::string>(opened));
    CHECK(std::get<std::string>(opened) ==
          "cannot read local file \"/nonexistent/deployd/app.tgz\": no such file or directory");
  }

  TEST_CASE("the cache opens a file once while it is unchanged") {
    testing::TempFolder folder;
    const std::string path = folder.write("cached", "one");
    SourceCache cache;
    auto first = std::get<std::shared_ptr<SourceFile>>(cache.open(path));
    auto second = std::get<std::shared_ptr<SourceFile>>(cache.open(path));
    CHECK(first == second);
    std::filesystem::remove(path);
    std::ofstream(path, std::ios::binary) << "other";
    auto third = std::get<std::shared_ptr<SourceFile>>(cache.open(path));
    CHECK(third != first);
    CHECK(third->bytes() == "other");
  }
}

}  // namespace deployd::ssh
