// SPDX-License-Identifier: MIT
// The daemon's folder: only a private folder of the user's own is used.
#include "warm/runtime_folder.hpp"

#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "support/temp_folder.hpp"

namespace deployd::warm {
namespace {

namespace fs = std::filesystem;

TEST_CASE("the folder is under XDG_RUNTIME_DIR, else /tmp/deployd-UID") {
  const char* saved = std::getenv("XDG_RUNTIME_DIR");
  const std::string kept = saved != nullptr ? saved : "";
  ::setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
  CHECK(runtime_folder() == "/run/user/1000/deployd");
  ::unsetenv("XDG_RUNTIME_DIR");
  CHECK(runtime_folder() == "/tmp/deployd-" + std::to_string(::geteuid()));
  ::setenv("XDG_RUNTIME_DIR", "relative", 1);  // not absolute: ignored
  CHECK(runtime_folder() == "/tmp/deployd-" + std::to_string(::geteuid()));
  if (saved != nullptr)
    ::setenv("XDG_RUNTIME_DIR", kept.c_str(), 1);
  else
    ::unsetenv("XDG_RUNTIME_DIR");
  CHECK(socket_path("/f") == "/f/serve.sock");
}

TEST_CASE("a folder open to others, a symlink or a missing folder is refused; 0700 is used") {
  const testing::TempFolder temp;
  const fs::path& base = temp.path();
  const std::string folder = (base / "deployd").string();
  CHECK(unsafe_folder_reason(folder).find("cannot use") != std::string::npos);
  CHECK(make_runtime_folder(folder) == "");
  struct stat info {};
  REQUIRE(::stat(folder.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0700);
  ::chmod(folder.c_str(), 0755);
  CHECK(unsafe_folder_reason(folder).find("has mode 0755") != std::string::npos);
  CHECK(make_runtime_folder(folder).find("has mode 0755") != std::string::npos);
  ::chmod(folder.c_str(), 0700);
  const std::string link = (base / "link").string();
  fs::create_directory_symlink(folder, link);
  CHECK(unsafe_folder_reason(link).find("not a folder") != std::string::npos);
  if (::geteuid() == 0) {
    REQUIRE(::chown(folder.c_str(), 65534, 65534) == 0);
    CHECK(unsafe_folder_reason(folder).find("belongs to uid 65534, not to you") !=
          std::string::npos);
  }
}

}  // namespace
}  // namespace deployd::warm
