// SPDX-License-Identifier: MIT
// Test helper: a private temporary folder, removed with everything in it at the end.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace deployd::testing {

/// A fresh folder of mode 0700 under $TMPDIR (else /tmp), made with mkdtemp: no other test,
/// user or run of the same test can be handed it. Its path is canonical, so the paths a test
/// expects match those a program under test resolves (e.g. `pwd`).
class TempFolder {
 public:
  TempFolder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "deployd-test-XXXXXX").string();
    const char* made = ::mkdtemp(pattern.data());
    REQUIRE_MESSAGE(made != nullptr, "mkdtemp " << pattern << " failed");
    path_ = std::filesystem::canonical(made);
  }
  ~TempFolder() {
    if (path_.empty()) return;  // moved from
    std::error_code ignored;    // a test may have left a file it cannot remove; not its failure
    std::filesystem::remove_all(path_, ignored);
  }
  TempFolder(TempFolder&& other) noexcept : path_(std::exchange(other.path_, {})) {}
  TempFolder& operator=(TempFolder&& other) noexcept {
    std::swap(path_, other.path_);
    return *this;
  }
  TempFolder(const TempFolder&) = delete;
  TempFolder& operator=(const TempFolder&) = delete;

  const std::filesystem::path& path() const { return path_; }

  /// Writes `text` to `name` in the folder (making its subfolders) and returns the file's path.
  std::filesystem::path write(const std::filesystem::path& name, std::string_view text) const {
    const std::filesystem::path file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }

 private:
  std::filesystem::path path_;
};

/// All the bytes of `file`; "" when it cannot be read.
inline std::string file_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  return text;
}

/// The folder `file` is in.
inline std::string folder_of(const std::string& file) {
  return std::filesystem::path(file).parent_path().string();
}

}  // namespace deployd::testing
