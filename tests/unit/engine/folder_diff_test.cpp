// SPDX-License-Identifier: MIT
// Tests of folder_changes() in src/engine/folder_diff.cpp: what a recursive put would change, as
// --diff lists it, from a local tree and a remote listing.
#include "engine/folder_diff.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "support/temp_folder.hpp"

namespace deployd::engine {
namespace {

namespace fs = std::filesystem;
using namespace std::string_literals;

// A local folder: index.html (0644, "hi\n"), css/ (0755), css/a.css (0600, "a{}\n").
struct Site {
  testing::TempFolder folder;
  fs::path path = folder.path();
  ssh::SourceCache cache;
  std::shared_ptr<ssh::SourceTree> tree;
  Site() {
    fs::create_directories(path / "css");
    fs::permissions(path, fs::perms(0755));
    fs::permissions(path / "css", fs::perms(0755));
    std::ofstream(path / "index.html") << "hi\n";
    std::ofstream(path / "css" / "a.css") << "a{}\n";
    fs::permissions(path / "index.html", fs::perms(0644));
    fs::permissions(path / "css" / "a.css", fs::perms(0600));
    tree = std::get<std::shared_ptr<ssh::SourceTree>>(ssh::SourceTree::open(path, cache));
  }
  const std::string& hash(const std::string& file) const {
    for (const auto& entry : tree->entries)
      if (entry.path == file) return entry.file->sha256();
    FAIL("no such file " << file);
    static const std::string none;
    return none;
  }
};

std::string summary(const std::vector<FolderChange>& changes) {
  std::string out;
  for (const FolderChange& change : changes) {
    const char mark = change.kind == FolderChange::Kind::Added     ? '+'
                      : change.kind == FolderChange::Kind::Removed ? '-'
                                                                   : '~';
    out += mark + (change.path.empty() ? "." : change.path) + " (" + change.detail + ")\n";
  }
  return out;
}

TEST_CASE("a folder that is the same, entry by entry, has no changes") {
  Site site;
  auto remote = ssh::parse_listing(
      "d 755 0 1:d 1:d \0f 644 3 1:d 1:d index.html\0"
      "d 755 0 1:d 1:d css\0f 600 4 1:d 1:d css/a.css\0"s);
  remote["index.html"].hash = site.hash("index.html");
  remote["css/a.css"].hash = site.hash("css/a.css");
  CHECK(summary(folder_changes(*site.tree, 0755, remote, "", "")) == "");
  // owner and group, when the step sets them, must match too.
  CHECK(summary(folder_changes(*site.tree, 0755, remote, "root", "")) ==
        "~. (owner 1:d -> root)\n~css (owner 1:d -> root)\n~css/a.css (owner 1:d -> root)\n"
        "~index.html (owner 1:d -> root)\n");
}

TEST_CASE("added, removed, changed content, mode and type are each named, sorted by path") {
  Site site;
  auto remote = ssh::parse_listing(
      "d 700 0 1:d 1:d \0f 644 3 1:d 1:d index.html\0"
      "f 644 4 1:d 1:d css\0"
      "d 755 0 1:d 1:d old\0d 755 0 1:d 1:d old/deep\0"
      "f 644 1 1:d 1:d old/deep/x\0f 644 1 1:d 1:d old-file\0"
      "l 777 9 1:d 1:d link\0"s);
  remote["index.html"].hash = std::string(64, '0');  // same size, other bytes
  CHECK(summary(folder_changes(*site.tree, 0755, remote, "", "")) ==
        "~. (mode 0700 -> 0755)\n"
        "~css (a file on the host, a folder planned)\n"
        "+css/a.css (new file, 4 bytes)\n"
        "~index.html (content)\n"
        "-link (a symlink)\n"
        "-old (folder and all it holds)\n"
        "-old-file (a file)\n");
  const auto changes = folder_changes(*site.tree, 0755, remote, "", "");
  CHECK(changes[3].is_content);
  CHECK_FALSE(changes[0].is_content);
}

TEST_CASE("a file whose size differs has changed content without a hash") {
  Site site;
  auto remote = ssh::parse_listing(
      "d 755 0 1:d 1:d \0f 640 99 1:d 1:d index.html\0"
      "d 755 0 1:d 1:d css\0f 600 4 1:d 1:d css/a.css\0"s);
  remote["css/a.css"].hash = site.hash("css/a.css");
  CHECK(summary(folder_changes(*site.tree, 0755, remote, "", "")) ==
        "~index.html (content, mode 0640 -> 0644)\n");
}

TEST_CASE("an absent folder: every planned entry is added") {
  Site site;
  CHECK(summary(folder_changes(*site.tree, 0755, {}, "", "")) ==
        "+css (new folder)\n+css/a.css (new file, 4 bytes)\n+index.html (new file, 3 bytes)\n");
}

}  // namespace
}  // namespace deployd::engine
